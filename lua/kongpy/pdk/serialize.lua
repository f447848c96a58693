-- kong.log.serialize() and kong.log.set_serialize_value(): Kong 3.9's log
-- table (the base of every logging plugin's output), built only when a plugin
-- asks for it, from nginx variables and what the request path already keeps
-- in ngx.ctx. The marks it needs beyond those (tries, timings) are recorded
-- only on requests that run a log handler (ctx.kongpy_logging).
local ssl = require("ngx.ssl")
local phase = require("kongpy.pdk.phase")
local settings = require("kongpy.settings")
local workspace = require("kongpy.workspace")
local freeze = require("kongpy.tools.log_json").freeze
local request_id = require("kongpy.request_id").get

local ngx = ngx
local var = ngx.var
local null = ngx.null
local get_resp_headers = ngx.resp.get_headers
local get_req_headers = ngx.req.get_headers
local get_uri_args = ngx.req.get_uri_args
local get_method = ngx.req.get_method
local req_start_time = ngx.req.start_time
local now = ngx.now
local get_tls1_version_str = ssl.get_tls1_version_str

local type = type
local pairs = pairs
local error = error
local tostring = tostring
local setmetatable = setmetatable
local tonumber = tonumber
local floor = math.floor
local sub = string.sub
local byte = string.byte
local find = string.find

local DOT = byte(".")
local QUESTION_MARK = byte("?")
-- kong.request.get_headers() and get_query() defaults
local SOURCE_NAMES = { service = "upstream", exit = "kong", error = "kong" }
local ERR_VALUE = "value must be nil, a number, string, boolean or a non-self-referencial "
                  .. "table containing numbers, string and booleans"
local CTX_PHASES = phase.new("certificate", "rewrite", "access", "header_filter", "response",
                             "body_filter", "log")
local LOG = phase.PHASES.log

local _M = {}

-- entity row -> its log copy; the copies themselves (weak: they go with
-- their configuration version)
local entity_copies = setmetatable({}, { __mode = "k" })
local shared = setmetatable({}, { __mode = "k" })

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

local function shallow(t)
    local out = {}
    for k, v in pairs(t) do
        out[k] = v
    end
    return out
end

-- Applies set_serialize_value() entries; dots in a key walk sub-tables.
-- With `cow` (the root was handed out already) every table on the way is
-- copied before it changes, so what serialize() returned before never does.
local function edit(root, list, first, cow)
    for n = first, #list do
        local item = list[n]
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
                elseif shared[nxt] then
                    nxt = copy(nxt)
                    node[subkey] = nxt
                elseif cow then
                    nxt = shallow(nxt)
                    node[subkey] = nxt
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


-- Kong 3.9's latencies (runloop, in ms): `kong` is the time until the last
-- try's peer was set (KONG_PROXY_LATENCY) or, when nothing was proxied, until
-- the response started (KONG_RESPONSE_LATENCY); `proxy` the wait from there
-- to the response's header_filter (KONG_WAITING_TIME); `receive` from the
-- header_filter to the end of the body_filter (KONG_RECEIVE_TIME). The
-- marks are recorded (kongpy.balancer, kongpy.init) only on requests that
-- run a log handler; the fallbacks serve a serialize() from elsewhere.
-- (kong, proxy, request, receive)
local function latency_values(ctx, request_ms)
    local start = req_start_time() * 1000
    local hf_start = ctx.kongpy_hf_start
    if not ctx.kongpy_proxied then
        return hf_start and hf_start - start or floor(request_ms + 0.5), -1, request_ms, 0
    end
    local sent = ctx.kongpy_balancer_end
                 or (ctx.kongpy_access_end and ctx.kongpy_access_end * 1000)
    local bf_end = ctx.kongpy_bf_end
    return ctx.kongpy_balancer_end and sent - start or ctx.kongpy_proxy_latency or 0,
           hf_start and sent and hf_start - sent or -1,
           request_ms,
           bf_end and (hf_start or sent) and bf_end - (hf_start or sent) or 0
end

local function latencies(ctx, request_ms)
    local kong, proxy, request, receive = latency_values(ctx, request_ms)
    return { kong = kong, proxy = proxy, request = request, receive = receive }
end

-- kongpy's own kong.log.latencies(): the `kong`, `proxy` and `request`
-- latencies without building the log table (a metrics plugin needs only these).
-- `request` is $request_time's whole milliseconds, computed as nginx does
-- (the cached clock minus the request's start, at least 0) instead of read
-- through ngx.var, which parses the variable's name on every read.
function _M.latencies()
    phase.check("kong.log.latencies", LOG)
    local request_ms = floor((now() - req_start_time()) * 1000 + 0.5)
    if request_ms < 0 then
        request_ms = 0
    end
    local kong, proxy, request = latency_values(ngx.ctx, request_ms)
    return kong, proxy, request
end

-- Kong appends the client's query when the upstream URI carries none.
local function upstream_uri(request_uri)
    local uri = var.upstream_uri or ""
    if uri ~= "" and not find(uri, "?", 1, true) then
        if byte(request_uri, -1) == QUESTION_MARK then
            uri = uri .. "?"
        elseif var.is_args == "?" then
            uri = uri .. "?" .. (var.args or "")
        end
    end
    return uri
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

-- Kong's entities, with the workspace they belong to. The copy of a route,
-- service or consumer is made once per configuration version (the rows are
-- replaced, never changed, on a new version) and shared by the requests'
-- log objects; edit() copies it again before changing anything inside, so
-- its JSON is made once too.
local function entity(t)
    if t == nil then
        return nil
    end
    local out = entity_copies[t]
    if not out then
        out = copy(t)
        out.ws_id = workspace.id
        entity_copies[t] = out
        shared[out] = true
        -- the loggers' encoder keeps its JSON (kongpy.tools.log_json)
        freeze(out)
    end
    return out
end

local function request_headers()
    local headers = get_req_headers()
    if headers["authorization"] ~= nil then
        headers["authorization"] = "REDACTED"
    end
    if headers["proxy-authorization"] ~= nil then
        headers["proxy-authorization"] = "REDACTED"
    end
    return headers
end

local response

-- The PDK's readers without their phase checks (serialize() made its own).
local function build(ctx)
    -- required on first use, as kongpy.pdk.response loads after this module
    response = response or require("kongpy.pdk.response")
    local request_uri = var.request_uri or ""
    local server_port = var.server_port
    -- port_maps: the port the client reached, as Kong's serializer reports
    local port = settings.host_ports[server_port] or tonumber(server_port)
    local request_ms = tonumber(var.request_time) * 1000
    local service = ctx.kongpy_service
    return {
        request = {
            id = request_id() or "",
            uri = request_uri,
            url = var.scheme .. "://" .. var.host .. (port and ":" .. port or "") .. request_uri,
            querystring = get_uri_args(),
            method = get_method(),
            headers = request_headers(),
            size = tonumber(var.request_length) or var.request_length,
            tls = tls_info(ctx),
        },
        upstream_uri = upstream_uri(request_uri),
        upstream_status = var.upstream_status or ctx.kongpy_upstream_status or "",
        response = {
            status = ngx.status,
            headers = get_resp_headers(),
            size = tonumber(var.bytes_sent) or var.bytes_sent,
        },
        latencies = latencies(ctx, request_ms),
        tries = ctx.kongpy_tries,
        authenticated_entity = authenticated_entity(ctx),
        route = entity(ctx.kongpy_route),
        service = entity(service and service.raw),
        consumer = entity(ctx.authenticated_consumer),
        client_ip = var.remote_addr,
        started_at = req_start_time() * 1000,
        source = SOURCE_NAMES[response.source(ctx)],
        workspace = workspace.id,
        workspace_name = workspace.name,
    }
end

-- Built once per request and shared by every logger of the request (some
-- keep it in a queue and encode it later: treat it as read-only). The values
-- set through set_serialize_value() since the previous call are applied to a
-- copy of it (the tables on the edited paths only), which gives what Kong's
-- fresh table per call would hold, as Kong keeps every value set during the
-- request too.
function _M.serialize()
    phase.check("kong.log.serialize", LOG)
    local ctx = ngx.ctx
    local root = ctx.kongpy_serialized
    local fresh = false
    if not root then
        root = build(ctx)
        fresh = true
        ctx.kongpy_serialized_n = 0
    end
    local list = ctx.kongpy_serialize_values
    if list and #list > ctx.kongpy_serialized_n then
        root = edit(fresh and root or shallow(root), list, ctx.kongpy_serialized_n + 1,
                    not fresh)
        ctx.kongpy_serialized_n = #list
    end
    ctx.kongpy_serialized = root
    return root
end

return _M
