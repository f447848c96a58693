-- An upstream's `healthchecks` record, compiled once per row into what the
-- health code reads on every report (status sets, limits), and its digest:
-- the health state of an upstream is kept only while the digest is the same.
local ngx = ngx
local md5 = ngx.md5

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local sort = table.sort
local concat = table.concat

local _M = {}

local EMPTY = {}
-- compiled settings by row: rows are replaced, never changed, by a new version
local compiled = setmetatable({}, { __mode = "k" })

local function num(v, default)
    return type(v) == "number" and v or default
end

local function rec(v)
    return type(v) == "table" and v or EMPTY
end

local function status_set(list)
    local set = {}
    if type(list) == "table" then
        for _, s in ipairs(list) do
            set[s] = true
        end
    end
    return set
end

local function side(checks)
    local healthy, unhealthy = rec(checks.healthy), rec(checks.unhealthy)
    return {
        ok_statuses = status_set(healthy.http_statuses),
        bad_statuses = status_set(unhealthy.http_statuses),
        successes = num(healthy.successes, 0),
        tcp = num(unhealthy.tcp_failures, 0),
        timeout = num(unhealthy.timeouts, 0),
        http = num(unhealthy.http_failures, 0),
        healthy_interval = num(healthy.interval, 0),
        unhealthy_interval = num(unhealthy.interval, 0),
    }
end

local function str(v)
    return type(v) == "string" and v or nil
end

local function compile(row)
    local hc = rec(row.healthchecks)
    local a, p = rec(hc.active), rec(hc.passive)
    local active, passive = side(a), side(p)
    active.type = str(a.type) or "http"
    active.timeout = num(a.timeout, 1)
    active.concurrency = num(a.concurrency, 10)
    active.http_path = str(a.http_path) or "/"
    active.https_sni = str(a.https_sni)
    active.verify = a.https_verify_certificate ~= false
    active.headers = type(a.headers) == "table" and a.headers or nil
    local probing = active.healthy_interval > 0 or active.unhealthy_interval > 0
    return {
        -- Kong's test for "the upstream uses health checks"
        on = probing or passive.tcp > 0 or passive.timeout > 0 or passive.http > 0,
        probing = probing,
        active = active,
        passive = passive,
        threshold = num(hc.threshold, 0),
    }
end

-- The compiled settings of an upstream row.
function _M.of(row)
    local c = compiled[row]
    if not c then
        c = compile(row)
        compiled[row] = c
    end
    return c
end

-- Canonical text of a decoded JSON value: object keys sorted, so equal
-- records give equal text whatever order the decoder kept.
local function canon(v, out)
    local t = type(v)
    if t ~= "table" then
        out[#out + 1] = t == "string" and ("%q"):format(v) or tostring(v)
        return
    end
    local keys = {}
    for k in pairs(v) do
        keys[#keys + 1] = tostring(k)
    end
    sort(keys)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
        out[#out + 1] = k
        out[#out + 1] = "="
        local val = v[k]
        if val == nil then
            val = v[tonumber(k)]
        end
        canon(val, out)
        out[#out + 1] = ","
    end
    out[#out + 1] = "}"
end

function _M.digest(row)
    local out = {}
    canon(row.healthchecks, out)
    return md5(concat(out))
end

return _M
