-- kong.log.serialize() and kong.log.set_serialize_value(): Kong 3.9's log
-- table (the base of every logging plugin's output), built only when a plugin
-- asks for it, from nginx variables and what the request path already keeps
-- in ngx.ctx. Nothing is recorded on the proxy path for it.
local ssl = require("ngx.ssl")
local phase = require("kongpy.pdk.phase")
local settings = require("kongpy.settings")

local ngx = ngx
local var = ngx.var
local null = ngx.null
local get_resp_headers = ngx.resp.get_headers
local get_tls1_version_str = ssl.get_tls1_version_str

local type = type
local pairs = pairs
local ipairs = ipairs
local error = error
local tostring = tostring
local tonumber = tonumber
local floor = math.floor
local sub = string.sub
local byte = string.byte
local gmatch = string.gmatch
local match = string.match

local DOT = byte(".")
local SOURCE_NAMES = { service = "upstream", exit = "kong", error = "kong" }
local ERR_VALUE = "value must be nil, a number, string, boolean or a non-self-referencial "
                  .. "table containing numbers, string and booleans"
local CTX_PHASES = phase.new("certificate", "rewrite", "access", "header_filter", "response",
                             "body_filter", "log")
local LOG = phase.PHASES.log

local _M = {}

function _M.set_serialize_value(key, value, options)
    phase.check("kong.log.set_serialize_value", CTX_PHASES)
    if type(key) ~= "string" then
        error("key must be a string", 2)
    end
    local mode = options and options.mode or "set"
    if mode ~= "set" and mode ~= "add" and mode ~= "replace" then
        error("mode must be 'set', 'add' or 'replace'", 2)
    end
    local ctx = ngx.ctx
    local list = ctx.kongpy_serialize_values
    if not list then
        list = {}
        ctx.kongpy_serialize_values = list
    end
    list[#list + 1] = { key = key, value = value, mode = mode }
end

local function valid(v, seen)
    local t = type(v)
    if v == nil or v == null or t == "number" or t == "string" or t == "boolean" then
        return true
    end
    if t ~= "table" or seen[v] then
        return false
    end
    seen[v] = true
    for k, item in pairs(v) do
        local tk = type(k)
        if (tk ~= "string" and tk ~= "number" and tk ~= "boolean") or not valid(item, seen) then
            return false
        end
    end
    return true
end

-- Applies set_serialize_value() entries; dots in a key walk sub-tables.
local function edit(root, list)
    for _, item in ipairs(list) do
        if not valid(item.value, {}) then
            error(ERR_VALUE, 3)
        end
        local key, mode = item.key, item.mode
        local node, start = root, 1
        for i = 2, #key do
            if byte(key, i) == DOT then
                local subkey = sub(key, start, i - 1)
                start = i + 1
                local nxt = node[subkey]
                if nxt == nil then
                    if mode == "replace" then
                        node = nil
                        break
                    end
                    nxt = {}
                    node[subkey] = nxt
                elseif type(nxt) ~= "table" then
                    error("The key '" .. key .. "' could not be used as a serialize value. "
                          .. "Subkey '" .. subkey .. "' is not a table. It's " .. tostring(nxt))
                end
                node = nxt
            end
        end
        if node then
            local last = sub(key, start)
            local cur = node[last]
            if mode == "set" or (mode == "add" and cur == nil)
               or (mode == "replace" and cur ~= nil) then
                node[last] = item.value
            end
        end
    end
    return root
end

-- A deep copy without JSON nulls: Kong's entities carry nil for unset fields.
local function copy(t, seen)
    if type(t) ~= "table" then
        return t
    end
    seen = seen or {}
    if seen[t] then
        return seen[t]
    end
    local out = {}
    seen[t] = out
    for k, v in pairs(t) do
        if v ~= null then
            out[k] = copy(v, seen)
        end
    end
    return out
end
_M.copy = copy

local function ms(seconds)
    return floor(seconds * 1000 + 0.5)
end

-- The time nginx waited for the upstream's headers, over every try.
local function waiting_ms()
    local total, any = 0, false
    for t in gmatch(var.upstream_header_time or "", "[%d%.]+") do
        total = total + tonumber(t)
        any = true
    end
    return any and ms(total) or -1
end

-- One entry per upstream address tried; all but the last failed.
local function tries()
    local addrs = var.upstream_addr
    if not addrs then
        return nil
    end
    local codes = {}
    for code in gmatch(var.upstream_status or "", "[^,: ]+") do
        codes[#codes + 1] = code
    end
    local list = {}
    for addr in gmatch(addrs, "[^,%s]+") do
        if addr ~= ":" then
            local ip, port = match(addr, "^%[?(.-)%]?:(%d+)$")
            list[#list + 1] = { ip = ip or addr, port = tonumber(port) }
        end
    end
    for i = 1, #list - 1 do
        list[i].state = "failed"
        list[i].code = tonumber(codes[i])
    end
    return list
end

local function tls_info(ctx)
    local version = get_tls1_version_str()
    if version then
        return {
            version = version,
            cipher = var.ssl_cipher,
            client_verify = ctx.kongpy_client_verify or var.ssl_client_verify,
        }
    end
end

local function authenticated_entity(ctx)
    local cred = ctx.authenticated_credential
    if cred == nil then
        return nil
    end
    local consumer_id = cred.consumer_id
    if consumer_id == nil or consumer_id == null then
        local c = cred.consumer
        consumer_id = type(c) == "table" and c.id or nil
    end
    return { id = cred.id, consumer_id = consumer_id }
end

local function request_headers(request)
    local headers = request.get_headers()
    if headers["authorization"] ~= nil then
        headers["authorization"] = "REDACTED"
    end
    if headers["proxy-authorization"] ~= nil then
        headers["proxy-authorization"] = "REDACTED"
    end
    return headers
end

function _M.serialize()
    phase.check("kong.log.serialize", LOG)
    local request = require("kongpy.pdk.request")
    local response = require("kongpy.pdk.response")
    local ctx = ngx.ctx
    local request_uri = var.request_uri or ""
    local server_port = var.server_port
    -- port_maps: the port the client reached, as Kong's serializer reports
    local port = settings.host_ports[server_port] or tonumber(server_port)
    local proxied = ctx.kongpy_proxied
    local request_ms = tonumber(var.request_time) * 1000
    local service = ctx.kongpy_service
    local root = {
        request = {
            id = var.request_id or "",
            uri = request_uri,
            url = var.scheme .. "://" .. var.host .. (port and ":" .. port or "") .. request_uri,
            querystring = request.get_query(),
            method = request.get_method(),
            headers = request_headers(request),
            size = tonumber(var.request_length) or var.request_length,
            tls = tls_info(ctx),
        },
        upstream_uri = var.upstream_uri or "",
        upstream_status = var.upstream_status or "",
        response = {
            status = ngx.status,
            headers = get_resp_headers(),
            size = tonumber(var.bytes_sent) or var.bytes_sent,
        },
        latencies = {
            kong = proxied and ctx.kongpy_proxy_latency or floor(request_ms + 0.5),
            proxy = proxied and waiting_ms() or -1,
            request = request_ms,
            receive = 0,
        },
        tries = proxied and tries() or nil,
        authenticated_entity = authenticated_entity(ctx),
        route = copy(ctx.kongpy_route),
        service = copy(service and service.raw),
        consumer = copy(ctx.authenticated_consumer),
        client_ip = var.remote_addr,
        started_at = request.get_start_time(),
        source = SOURCE_NAMES[response.get_source()],
    }
    local list = ctx.kongpy_serialize_values
    if list then
        root = edit(root, list)
    end
    return root
end

return _M
