-- The Status API (status_listen): Kong's read-only monitoring endpoints,
-- answered by the data plane itself so they keep answering while the
-- control plane is busy or down. GET /status, GET|POST /status/ready, and
-- the routes of the enabled plugins' status_api.lua (Kong's contract; the
-- prometheus plugin's GET /metrics). The control socket serves the same
-- plugin routes to the Admin API (kongpy.control).
local cjson = require("cjson.safe")
local settings = require("kongpy.settings")
local node_status = require("kongpy.node_status")
local body_reader = require("kongpy.pdk.body")
local kong = require("kongpy.pdk")

local ngx = ngx
local var = ngx.var
local say = ngx.say
local exit = ngx.exit
local header = ngx.header
local req = ngx.req
local null = ngx.null

local type = type
local pcall = pcall
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local tostring = tostring
local gsub = string.gsub
local match = string.match
local decode_args = ngx.decode_args

local ERR_NOT_FOUND = "Not found"
local ERR_METHOD = "Method not allowed"
local ERR_DRAIN = "Invalid status: only 'draining' is allowed"

local _M = {}

local function respond(status, body)
    ngx.status = status
    header["Content-Type"] = "application/json; charset=utf-8"
    say(cjson.encode(body))
    return exit(status)
end

-- Kong's GET /status: nginx's counters, the datastore as the control plane
-- last saw it, memory in `unit` (default m) with `scale` decimals.
local function get_status()
    local stats = kong.nginx.get_statistics()
    local unit = var.arg_unit or "m"
    local scale = tonumber(var.arg_scale)
    local ok, mem = pcall(kong.node.get_memory_stats, unit, scale)
    if not ok then
        return respond(400, { message = (gsub(tostring(mem), "^.-:%d+: ", "")) })
    end
    for _, vm in ipairs(mem.workers_lua_vms) do
        vm.err = nil
        vm.http_allocated_gc = vm.http_allocated_gc or null
    end
    local body = {
        server = stats,
        database = { reachable = node_status.database_reachable() == true },
        memory = mem,
    }
    if node_status.dbless() then
        body.configuration_hash = node_status.configuration_hash() or node_status.EMPTY_HASH
    end
    return respond(200, body)
end

local function get_ready()
    local ok, reason = node_status.ready()
    if ok then
        return respond(200, { message = "ready" })
    end
    return respond(503, { message = reason })
end

-- `kong drain`: status=draining (form, query or JSON) → 204; anything else 400.
local function post_ready()
    local body = body_reader.read() or ""
    local status = var.arg_status
    if not status and body ~= "" then
        local ctype = var.content_type or ""
        if match(ctype, "^application/json") then
            local doc = cjson.decode(body)
            status = type(doc) == "table" and doc.status or nil
        else
            status = (decode_args(body) or {}).status
        end
    end
    if status ~= "draining" then
        return respond(400, { message = ERR_DRAIN })
    end
    node_status.set_draining()
    ngx.status = 204
    return exit(204)
end

local CORE = {
    ["/status"] = { GET = get_status },
    ["/status/ready"] = { GET = get_ready, POST = post_ready },
}

-- path -> { METHOD = fn }, from the enabled plugins' status_api.lua; loaded
-- once per worker, at the first request.
local plugin_routes

function _M.plugin_routes()
    if not plugin_routes then
        plugin_routes = {}
        for _, name in ipairs(settings.plugins or {}) do
            local ok, routes = pcall(require, "kong.plugins." .. name .. ".status_api")
            if ok and type(routes) == "table" then
                for path, methods in pairs(routes) do
                    plugin_routes[path] = methods
                end
            end
        end
    end
    return plugin_routes
end

local function no_route()
    return false
end

local function not_found()
    return respond(404, { message = ERR_NOT_FOUND })
end

-- Runs the handler `routes` (path -> { METHOD = fn }) has for `path` and the
-- request's method (405 when the path has none for it); `otherwise(path)`
-- when `routes` lacks the path.
function _M.dispatch(routes, path, otherwise)
    local handlers = routes[path]
    if not handlers then
        return otherwise(path)
    end
    local handler = handlers[req.get_method()]
    if not handler then
        return respond(405, { message = ERR_METHOD })
    end
    return handler()
end

-- Runs `path` of the plugins' routes; false when no plugin has it.
function _M.serve_plugin(path)
    return _M.dispatch(_M.plugin_routes(), path, no_route)
end

-- A path of the plugins' routes, or 404.
function _M.serve_plugin_or_404(path)
    if _M.serve_plugin(path) == false then
        return not_found()
    end
end

function _M.serve()
    local path = var.uri
    if #path > 1 then
        path = gsub(path, "/+$", "")
    end
    return _M.dispatch(CORE, path, _M.serve_plugin_or_404)
end

return _M
