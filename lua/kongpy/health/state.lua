-- Health of upstream addresses in the kongpy_health shared dict, shared by
-- the node's workers (docs/contracts.md §6):
--   h:<upstream id>:<ip>:<port>         0 unhealthy (absent: healthy)
--   c:<upstream id>:<ip>:<port>:<kind>  consecutive observations of a kind
--                                       (ok, tcp, timeout, http)
--   v:<upstream id>                     digest of the settings the state is for
-- Counting follows lua-resty-healthcheck, which Kong uses: a report that
-- agrees with a settled state counts nothing; a success resets the failure
-- counters and a failure the success counter; reaching a limit flips the
-- state and clears the counters; a limit of 0 ignores the report. Two
-- workers counting the same address at once may each miss the other's
-- reset: at worst a flip comes one observation early or late.
local ngx = ngx
local log = ngx.log
local ERR = ngx.ERR
local WARN = ngx.WARN

local ipairs = ipairs

local _M = {}

local FAILURES = { "tcp", "timeout", "http" }

local shm = ngx.shared.kongpy_health

-- Per worker: the h: key of each address, so the hot path concatenates
-- nothing. Bounded: dropped wholesale when it grows past MAX_KEYS.
local MAX_KEYS = 20000
local keys, nkeys = {}, 0

local function hkey(uid, ip, port)
    local by_up = keys[uid]
    if not by_up then
        by_up = {}
        keys[uid] = by_up
    end
    local by_ip = by_up[ip]
    if not by_ip then
        by_ip = {}
        by_up[ip] = by_ip
    end
    local k = by_ip[port]
    if not k then
        if nkeys >= MAX_KEYS then
            keys, nkeys = {}, 0
        end
        k = "h:" .. uid .. ":" .. ip .. ":" .. port
        by_ip[port] = k
        nkeys = nkeys + 1
    end
    return k
end

function _M.available()
    return shm ~= nil
end

function _M.is_healthy(uid, ip, port)
    return shm:get(hkey(uid, ip, port)) ~= 0
end

local function clear_counters(base)
    shm:delete("c:" .. base .. ":ok")
    for i = 1, #FAILURES do
        shm:delete("c:" .. base .. ":" .. FAILURES[i])
    end
end

-- Sets the state of one address and clears its counters.
function _M.set(uid, ip, port, healthy)
    local base = uid .. ":" .. ip .. ":" .. port
    local ok, err
    if healthy then
        ok, err = shm:delete("h:" .. base)
    else
        ok, err = shm:set("h:" .. base, 0)
    end
    if not ok then
        log(ERR, "cannot store the health of ", ip, ":", port, ": ", err)
        return nil, err
    end
    clear_counters(base)
    return true
end

-- One observation of `kind` ("ok" or a failure kind) against `limit`.
-- Returns true when it flipped the state.
function _M.count(uid, ip, port, kind, limit)
    if not limit or limit <= 0 then
        return
    end
    local base = uid .. ":" .. ip .. ":" .. port
    local healthy = shm:get("h:" .. base) ~= 0
    local success = kind == "ok"
    if healthy == success then
        -- settled in that direction: only the opposite counters go
        if success then
            for i = 1, #FAILURES do
                shm:delete("c:" .. base .. ":" .. FAILURES[i])
            end
        else
            shm:delete("c:" .. base .. ":ok")
        end
        return
    end
    local n, err = shm:incr("c:" .. base .. ":" .. kind, 1, 0)
    if not n then
        log(ERR, "cannot count a health report for ", ip, ":", port, ": ", err)
        return
    end
    if success then
        for i = 1, #FAILURES do
            shm:delete("c:" .. base .. ":" .. FAILURES[i])
        end
    else
        shm:delete("c:" .. base .. ":ok")
    end
    if n >= limit then
        log(WARN, "[healthchecks] ", ip, ":", port, " of upstream ", uid, " is now ",
            success and "healthy" or "unhealthy", " (", n, " ", kind, ")")
        _M.set(uid, ip, port, success)
        return true
    end
end

-- Drops one address's state (its target went away).
function _M.forget(uid, ip, port)
    local base = uid .. ":" .. ip .. ":" .. port
    shm:delete("h:" .. base)
    clear_counters(base)
end

-- Drops every key of an upstream (settings changed, or it was deleted).
function _M.forget_upstream(uid)
    local h, c = "h:" .. uid .. ":", "c:" .. uid .. ":"
    local nh, nc = #h, #c
    for _, k in ipairs(shm:get_keys(0)) do
        if k:sub(1, nh) == h or k:sub(1, nc) == c then
            shm:delete(k)
        end
    end
    shm:delete("v:" .. uid)
end

function _M.digest_of(uid)
    return shm:get("v:" .. uid)
end

function _M.set_digest(uid, digest)
    return shm:set("v:" .. uid, digest)
end

function _M.dict()
    return shm
end

return _M
