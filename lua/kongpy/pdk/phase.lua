-- Kong's phase checks for the PDK. Each function lists the phases Kong 3.9
-- allows it in; called elsewhere it raises Kong's message ("function cannot
-- be called in log phase (only in: ...)") prefixed with the function's name.
-- The phase comes from ngx.get_phase() (one FFI call), so nothing is written
-- per request for it: Kong stores it in ngx.ctx in every phase instead.
local bit = require("bit")

local ngx = ngx
local get_phase = ngx.get_phase

local next = next
local running = coroutine.running
local setmetatable = setmetatable
local band = bit.band
local bor = bit.bor
local error = error
local ipairs = ipairs
local concat = table.concat

local _M = {}

-- Kong's bit per phase, listed in Kong's order (its messages follow it).
local ORDER = {
    { "init_worker", 0x00000001 }, { "certificate", 0x00000002 }, { "rewrite", 0x00000010 },
    { "access", 0x00000020 }, { "balancer", 0x00000040 }, { "response", 0x00000080 },
    { "header_filter", 0x00000200 }, { "body_filter", 0x00000400 }, { "log", 0x00002000 },
    { "preread", 0x00004000 }, { "error", 0x01000000 }, { "admin_api", 0x10000000 },
}
local BIT = {}
for _, p in ipairs(ORDER) do
    BIT[p[1]] = p[2]
end
_M.PHASES = BIT

-- nginx's phase names as Kong names them; a content handler (the error page,
-- the control socket) counts as the Admin API, as Kong's check does.
local KONG_NAME = {
    init_worker = "init_worker", ssl_cert = "certificate", rewrite = "rewrite",
    access = "access", balancer = "balancer", header_filter = "header_filter",
    body_filter = "body_filter", log = "log", preread = "preread", content = "admin_api",
}

function _M.new(...)
    local mask = 0
    for _, name in ipairs({ ... }) do
        mask = bor(mask, BIT[name])
    end
    return mask
end

-- Kong's `request` alias: every phase of a proxied request.
_M.REQUEST = _M.new("rewrite", "access", "response", "header_filter", "body_filter", "log",
                    "error", "admin_api")

local names_of = {}

local function names(mask)
    local s = names_of[mask]
    if not s then
        local list = {}
        for _, p in ipairs(ORDER) do
            if band(mask, p[2]) ~= 0 then
                list[#list + 1] = p[1]
            end
        end
        s = concat(list, ", ")
        names_of[mask] = s
    end
    return s
end

-- Kong's response phase runs inside nginx's access phase (kongpy.buffered):
-- the request coroutines running response handlers are kept here, so a
-- check costs nothing more while no response phase is under way.
local responding = setmetatable({}, { __mode = "k" })
_M.responding = responding

-- Kong's rewrite phase runs at the start of nginx's access phase
-- (lua/kongpy/init.lua: one Lua handler fewer per request): the request
-- coroutines running the global rewrite handlers are kept here.
local rewriting = setmetatable({}, { __mode = "k" })
_M.rewriting = rewriting

local function kong_name(p)
    if p == "access" then
        if next(rewriting) ~= nil and rewriting[running()] then
            return "rewrite"
        end
        if next(responding) ~= nil and responding[running()] then
            return "response"
        end
    end
    return KONG_NAME[p]
end

-- The current phase by Kong's name (nginx's own name when Kong has none,
-- e.g. "timer" or "init").
function _M.current()
    local p = get_phase()
    return kong_name(p) or p
end

-- check(name, mask): raises unless the current phase is one of `mask`.
function _M.check(name, mask)
    local p = get_phase()
    local kp = kong_name(p)
    if kp and band(BIT[kp], mask) ~= 0 then
        return
    end
    error(name .. ": function cannot be called in " .. (kp or p) .. " phase (only in: "
          .. names(mask) .. ")", 3)
end

-- check_not(name, mask): raises when the current phase is one of `mask`.
function _M.check_not(name, mask)
    local kp = kong_name(get_phase())
    if not kp or band(BIT[kp], mask) == 0 then
        return
    end
    error(name .. ": function cannot be called in " .. kp .. " phase (can be called in any "
          .. "phases except: " .. names(mask) .. ")", 3)
end

-- unsupported(name, why): what a function kongpy cannot provide raises.
function _M.unsupported(name, why)
    error(name .. ": not supported: " .. why, 3)
end

return _M
