-- storage = kong: session payloads in the `sessions` entity (daos.lua),
-- written through the data plane's write channel (docs/contracts.md), read
-- through kong.db. As Kong's storage does, a write asked for in
-- header_filter (no cosockets there) runs in a timer right after.
local kong = kong

local ngx = ngx
local get_phase = ngx.get_phase
local timer_at = ngx.timer.at
local ceil = math.ceil

local ERR_NOT_FOUND = "session not found"

local _M = {}

local function sessions()
    return kong.db.sessions
end

local function insert(_, key, value, now, ttl, old_key, stale_ttl)
    local row = { session_id = key, data = value, expires = ttl and (now + ttl) or nil }
    local ok, err = sessions():insert(row, { ttl = ttl and ceil(ttl) or nil })
    if not ok then
        kong.log.err("could not store the session: ", err)
        return nil, err
    end
    if old_key then
        -- the replaced session still serves concurrent requests for stale_ttl
        local old = sessions():select_by_session_id(old_key)
        if old then
            sessions():update({ id = old.id }, { expires = now + stale_ttl },
                              { ttl = stale_ttl })
        end
    end
    return true
end

local function delete(_, key)
    local row = sessions():select_by_session_id(key)
    if row then
        local ok, err = sessions():delete({ id = row.id })
        if not ok then
            kong.log.err("could not delete the session: ", err)
            return nil, err
        end
    end
    return true
end

local function run(fn, ...)
    if get_phase() == "header_filter" then
        local ok, err = timer_at(0, fn, ...)
        if not ok then
            return nil, err
        end
        return true
    end
    return fn(false, ...)
end

-- get(conf, key) -> payload | nil, err
function _M.get(_, key)
    local row, err = sessions():select_by_session_id(key)
    if not row then
        return nil, err or ERR_NOT_FOUND
    end
    if row.expires and row.expires < ngx.time() then
        return nil, ERR_NOT_FOUND
    end
    return row.data
end

function _M.set(conf, key, value, now, ttl, old_key)
    return run(insert, key, value, now, ttl, old_key, conf.stale_ttl or 0)
end

function _M.delete(_, key)
    return run(delete, key)
end

return _M
