-- kong.tools.utils: the aggregate module Kong 3.9 still ships (deprecated
-- there in favour of kong.tools.*): every helper of kong.tools.table,
-- .string, .uuid, .rand and .http, plus the time, module and host helpers
-- plugins commonly call through it.
local node = require("kongpy.pdk.node")

local ngx = ngx
local now = ngx.now
local update_time = ngx.update_time
local get_phase = ngx.get_phase
local sleep = ngx.sleep

local type = type
local pairs = pairs
local ipairs = ipairs
local error = error
local require = require
local xpcall = xpcall
local find = string.find
local match = string.match
local traceback = debug.traceback

local _M = {}

for _, name in ipairs({ "kong.tools.table", "kong.tools.string", "kong.tools.uuid",
                        "kong.tools.rand", "kong.tools.http" }) do
    for k, v in pairs(require(name)) do
        _M[k] = v
    end
end

function _M.get_now_ms()
    return now() * 1000
end

function _M.get_updated_now_ms()
    update_time()
    return now() * 1000
end

function _M.get_start_time_ms()
    return ngx.req.start_time() * 1000
end

_M.get_hostname = node.get_hostname

-- load_module_if_exists(name): true, module; false, err when it is not
-- installed; raises when it exists but fails to load.
function _M.load_module_if_exists(name)
    local ok, res = xpcall(require, traceback, name)
    if ok then
        return true, res
    end
    if type(res) == "string" and find(res, "module '" .. name .. "' not found", 1, true) then
        return false, res
    end
    error("error loading module '" .. name .. "':\n" .. res)
end

-- hostname_type(name): "ipv4", "ipv6" or "name".
function _M.hostname_type(name)
    if find(name, ":", 1, true) then
        return "ipv6"
    end
    if match(name, "^%d+%.%d+%.%d+%.%d+$") then
        return "ipv4"
    end
    return "name"
end

-- format_host(host, port): "host:port", IPv6 addresses bracketed.
function _M.format_host(host, port)
    if _M.hostname_type(host) == "ipv6" and not find(host, "[", 1, true) then
        host = "[" .. host .. "]"
    end
    return port and host .. ":" .. port or host
end

local YIELDABLE = { rewrite = true, access = true, content = true, timer = true }
local counter = 0

-- yield(in_loop): lets other requests run (every 1000 calls in a loop).
function _M.yield(in_loop, phase)
    if not YIELDABLE[phase or get_phase()] then
        return
    end
    if in_loop then
        counter = counter + 1
        if counter < 1000 then
            return
        end
        counter = 0
    end
    sleep(0)
end

return _M
