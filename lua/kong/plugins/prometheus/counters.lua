-- Per-worker counter deltas for the shared dict `prometheus_metrics`.
-- The log phase only adds to a Lua table of this worker (no lock, no shared
-- memory write); a timer adds the deltas to the dict once a second with incr
-- (atomic across workers), as Kong's resty.counter does. A scrape therefore
-- sees another worker's requests at most about a second late; the scraping
-- worker flushes its own first.
local ngx = ngx
local shared = ngx.shared
local log = ngx.log
local ERR = ngx.ERR
local timer_every = ngx.timer.every

local pairs = pairs

local DICT = "prometheus_metrics"
local FLUSH_EVERY = 1
local ERRORS_KEY = "kong_nginx_metric_errors_total"
local ERR_FULL = "prometheus: the shared dict 'prometheus_metrics' is full; "
                 .. "metrics are being lost (enlarge it with "
                 .. "nginx_http_lua_shared_dict = prometheus_metrics <size>)"

local _M = {
    -- key (a sample's name and labels) -> delta; the log phase adds here
    pending = {},
}

local pending = _M.pending
local warned = false

-- incr with an init value would evict the least recently used samples
-- when the dict is full; safe_add never evicts: a full dict loses this
-- delta, not older counts.
local function add(dict, key, delta)
    local ok = dict:incr(key, delta)
    if ok then
        return true
    end
    local added, err = dict:safe_add(key, delta)
    if added then
        return true
    end
    -- another worker created it in between
    return err == "exists" and dict:incr(key, delta) ~= nil
end

-- Adds the deltas to the dict and empties the table in place (it keeps its
-- slots, so the next second's requests insert without rehashing).
function _M.flush()
    local dict = shared[DICT]
    if not dict then
        return
    end
    local failed = 0
    for key, delta in pairs(pending) do
        if not add(dict, key, delta) then
            failed = failed + 1
        end
        pending[key] = nil
    end
    if failed > 0 then
        add(dict, ERRORS_KEY, failed)
        if not warned then
            warned = true
            log(ERR, ERR_FULL)
        end
    end
end

-- also when premature: a worker leaving (reload, stop) hands over its last
-- second's counts
local function tick()
    _M.flush()
end

function _M.init_worker()
    if not shared[DICT] then
        return nil, "ngx shared dict '" .. DICT .. "' not found"
    end
    return timer_every(FLUSH_EVERY, tick)
end

_M.DICT = DICT
_M.ERRORS_KEY = ERRORS_KEY

return _M
