-- Phase entry points of the data plane. Everything that can be computed once
-- per configuration version lives in the router's compiled entries and its
-- match cache; a proxied request reads a few variables and writes a few.

-- before any module keeps a local copy of ngx.now, ngx.var's getter, ...
require("kongpy.traceable").apply()
-- as early: the parsers' defaults follow kong.configuration's lua_max_*
local limits = require("kongpy.limits")
limits.apply()

local settings = require("kongpy.settings")
local snapshot = require("kongpy.snapshot")
local router = require("kongpy.router")
local balancer = require("kongpy.balancer")
local errors = require("kongpy.errors")
local dns = require("kongpy.dns")
local plugins = require("kongpy.runner")
local control = require("kongpy.control")
local buffered = require("kongpy.buffered")
local hop = require("kongpy.hop")
local ctxref = require("kongpy.ctxref")
local certificates = require("kongpy.certificates")
local upstream_tls = require("kongpy.upstream_tls")
local instrumentation = require("kongpy.instrumentation")
local request_id = require("kongpy.request_id")

local ngx = ngx
local var = ngx.var
local header = ngx.header
local now = ngx.now
local now_ms = require("kong.tools.time").now_ms
local exit = ngx.exit
local get_request_id = request_id.get
local exec = ngx.exec
local log = ngx.log
local ERR = ngx.ERR
local req_start_time = ngx.req.start_time
local http_version = ngx.req.http_version

local error = error
local type = type
local ipairs = ipairs
local unpack = unpack
local tonumber = tonumber
local floor = math.floor
local sub = string.sub
local byte = string.byte

local ERR_NO_ROUTE = "no Route matched with those values"
local ERR_NO_SERVICE = "no Service found with those values"
local ERR_HTTPS = "Please use HTTPS protocol"
local HTTPS_HEADERS = { Connection = "Upgrade", Upgrade = "TLS/1.2, HTTP/1.1" }
local ERR_HTTP2 = "Please use HTTP2 protocol"
local HTTP2_HEADERS = { Connection = "Upgrade", Upgrade = "HTTP/2" }
local ERR_NOT_GRPC = "Non-gRPC request matched gRPC route"
local GRPC = errors.GRPC
local QMARK = byte("?")

local _M = {}

local enabled = {}
-- the headers nginx adds in location / (see _M.header_filter): a set and a list
local NONE = {}
local REQUEST_ID = { "X-Kong-Request-Id" }
local by_nginx_set = NONE
local nginx_names = {}
local server_header = "kongpy"
local via_out = ""
-- Kong's allow_debug_header: a request carrying Kong-Debug learns the route
-- and service that matched it
local debug_header = false
-- tracing_instrumentations is not off (kongpy.instrumentation)
local tracing = false

function _M.init(settings_file)
    local ok, err = settings.load(settings_file)
    if not ok then
        error(err)
    end
    limits.configure(settings.configuration)
    enabled = settings.enabled_headers
    by_nginx_set, nginx_names = NONE, {}
    for _, name in ipairs(settings.nginx_headers) do
        if by_nginx_set == NONE then
            by_nginx_set = {}
        end
        by_nginx_set[name] = true
        nginx_names[#nginx_names + 1] = name
    end
    server_header = settings.server_header
    via_out = "1.1 " .. server_header
    debug_header = settings.allow_debug_header
    dns.init()
    -- Kong's plugins reach the PDK through the global `kong` (often captured
    -- at load time as `local kong = kong`): it exists before any is loaded.
    _G.kong = require("kongpy.pdk")
    kong.tracing = instrumentation.init(settings.tracing)
    tracing = instrumentation.enabled
    -- kong.request.get_uri_captures asks the router again (a cache hit)
    -- rather than have every request keep its match
    local function rematch()
        local rt = snapshot.state.router
        return rt and router.exec(rt, var, var.scheme)
    end
    require("kongpy.pdk.request").rematch = rematch
    balancer.rematch = rematch
    plugins.init(settings.plugins)
    local cok, cerr = control.init(settings.control_token_file)
    if not cok then
        -- the proxy still serves; only the control socket stays closed
        ngx.log(ngx.WARN, cerr, "; the control socket refuses every request")
    end
    if settings.write_socket then
        local wok, werr = require("kongpy.dpwrite").init(
            settings.write_socket, settings.control_token_file, settings.dp_writable)
        if not wok then
            ngx.log(ngx.WARN, werr, "; plugins cannot store rows from the data plane")
        end
    end
    snapshot.init(settings.snapshot_path)
end

function _M.init_worker()
    snapshot.init_worker()
    require("kongpy.pdk.events").init_worker()
    require("kongpy.pdk.cache").init_worker()
    require("kongpy.health").init_worker()
    plugins.init_worker(snapshot.state.plugins)
end

-- ssl_certificate_by_lua: the certificate of the configuration this worker
-- serves for the client's SNI, else nginx's default (kongpy.certificates).
function _M.ssl_certificate()
    return certificates.serve(snapshot.state.certificates)
end

local function https_required(entry, request_uri)
    local code = entry.redirect_code
    if code == 426 then
        return errors.exit(426, ERR_HTTPS, get_request_id(), HTTPS_HEADERS)
    end
    header["Location"] = "https://" .. var.kongpy_x_forwarded_host .. request_uri
    ngx.status = code
    return exit(code)
end

-- Kong's checks of a request a grpc/grpcs route matched: gRPC content
-- (415), over HTTP/2 (426), and over TLS for a grpcs-only route (a gRPC
-- error with HTTP status 200). Returns true when the request was answered.
local function grpc_mismatch(protocols)
    local ctype = var.content_type
    if not ctype or sub(ctype, 1, #GRPC) ~= GRPC then
        errors.exit(415, ERR_NOT_GRPC, get_request_id())
        return true
    end
    if http_version() ~= 2 then
        errors.exit(426, ERR_HTTP2, get_request_id(), HTTP2_HEADERS)
        return true
    end
    if not protocols.grpc and var.kongpy_x_forwarded_proto ~= "https" then
        errors.grpc_exit(200, "gRPC request matched gRPCs route", { ["grpc-status"] = 1 })
        return true
    end
    return false
end

local function debug_headers(entry)
    local route, service = entry.route, entry.service
    header["Kong-Route-Id"] = route.id
    if type(route.name) == "string" then
        header["Kong-Route-Name"] = route.name
    end
    local raw = service and service.raw
    if raw then
        header["Kong-Service-Id"] = raw.id
        if type(raw.name) == "string" then
            header["Kong-Service-Name"] = raw.name
        end
    end
end

-- `balanced`: the service's host names an upstream, whose chosen target
-- gives the Host header (kongpy.balancer) unless the route preserves it.
local function set_upstream(entry, service, qpos, request_uri, upath, balanced)
    if service.scheme == "https" then
        var.upstream_scheme = "https"
        var.upstream_ssl_name = service.ssl_name
    end
    var.upstream_uri = qpos and upath .. sub(request_uri, qpos) or upath
    if entry.preserve_host then
        var.upstream_host = var.http_host or service.host_header
    elseif not balanced then
        var.upstream_host = service.host_header
    end
end

-- The forwarding headers, Upgrade/Connection, TE, Via and the upstream
-- request id are nginx maps (nginx_kongpy.conf.j2); only what depends on the
-- matched route is written here.
--
-- Kong's rewrite phase (global instances only: routing has not happened)
-- runs first, here rather than in a rewrite_by_lua handler of its own: an
-- nginx phase handler costs every request, most of which have no global
-- rewrite plugin (kongpy.pdk.phase names the phase "rewrite" meanwhile).
function _M.access()
    buffered.forget()
    local ctx = ngx.ctx
    -- first: whatever answers the request (a rewrite plugin too) names it
    local rid = request_id.assign() or get_request_id()
    ctx.kongpy_request_id = rid
    local state = snapshot.state
    if tracing then
        instrumentation.request(ctx)
    end
    local ps = state.plugins
    if ps and ps.n > 0 then
        plugins.run_global("rewrite", ps)
    end
    local rt = state.router
    local scheme = var.scheme
    local res, qpos, request_uri
    local span
    if tracing then
        span = instrumentation.router_start()
    end
    if rt then
        res, qpos, request_uri = router.exec(rt, var, scheme)
    end
    if span then
        span:finish()
    end
    if not res then
        if ps and ps.n > 0 then
            plugins.collect_global(ctx, ps, scheme)
        end
        return errors.exit(404, ERR_NO_ROUTE, rid)
    end
    local entry = res.entry
    if debug_header and var.http_kong_debug then
        debug_headers(entry)
    end
    if entry.https_only and var.kongpy_x_forwarded_proto ~= "https" then
        return https_required(entry, request_uri)
    end
    if entry.grpc and grpc_mismatch(entry.protocols) then
        return
    end
    local prefix = res.prefix
    if prefix then
        var.upstream_x_forwarded_prefix = prefix
    end
    local service = entry.service
    if service then
        -- X-Forwarded-Path: the path the client sent, without the query
        var.upstream_x_forwarded_path = qpos and sub(request_uri, 1, qpos - 1) or request_uri
    end
    ctx.kongpy_service = service
    ctx.kongpy_route = entry.route
    if service then
        local ups = state.upstreams
        -- with plugins to run, the query follows them (below)
        set_upstream(entry, service, ps.n == 0 and qpos, request_uri, res.upstream_path,
                     ups and ups.by_name[service.host] ~= nil)
    end
    -- Kong runs the plugins before it looks for the service or a peer.
    if ps.n > 0 then
        -- a gRPC route's request runs the plugins whose protocols name
        -- grpc/grpcs (a plugin for http/https only does not run there)
        local pscheme = scheme
        if entry.grpc then
            pscheme = scheme == "https" and "grpcs" or "grpc"
        end
        plugins.access(ctx, ps, pscheme, entry.route.id, service and service.id)
        -- as Kong: the upstream query is the request's args as the plugins
        -- left them (the PDK or ngx.req.set_uri_args), after the path they set
        if service and (var.is_args == "?" or byte(request_uri, -1) == QMARK) then
            var.upstream_uri = var.upstream_uri .. "?" .. (var.args or "")
        end
    end
    if not service then
        return errors.exit(503, ERR_NO_SERVICE, rid)
    end
    local ok, status, msg = balancer.prepare(ctx, service, entry.preserve_host,
                                             state.upstreams)
    if not ok then
        return errors.exit(status, msg, rid)
    end
    -- upstream TLS once the plugins may have changed the scheme (set_scheme)
    local profile = false
    if service.scheme == "https" and not ctx.kongpy_scheme_set
       or ctx.kongpy_scheme_set and var.upstream_scheme == "https" then
        local terr
        profile, terr = upstream_tls.prepare(ctx, state, service)
        if profile == nil then
            log(ERR, terr)
            return errors.exit(500, nil, rid)
        end
        if profile and service.grpc then
            -- Kong's schema allows no tls_verify on grpcs services: no
            -- location verifies gRPC upstreams, so never send it unverified
            log(ERR, "service ", service.id, ": tls_verify is not available for grpcs")
            return errors.exit(500, nil, rid)
        end
    end
    -- after the plugins, as Kong: a header they set and the client's
    -- Connection names is not sent either
    local grpc = service.grpc
    if profile or grpc or ctx.kongpy_upstream then
        -- an error page (the upstream unreachable) releases a balanced
        -- request's peer (a request that collected plugins stashed its ctx
        -- when it collected them: kongpy.runner)
        ctxref.stash(ctx)
    end
    local named = var.kongpy_request_hop
    if named ~= "" then
        hop.clear_request(named)
    end
    local t = now_ms() / 1000
    ctx.kongpy_proxied = true
    ctx.kongpy_access_end = t
    ctx.kongpy_proxy_latency = floor((t - req_start_time()) * 1000 + 0.5)
    if grpc then
        -- grpc_pass (Kong's @grpc / @grpcs)
        return exec(service.scheme == "https" and "@grpcs" or "@grpc")
    end
    if ctx.buffered_proxying and buffered.wanted(ctx) then
        return buffered.proxy(ctx, profile)
    end
    if profile then
        -- the location that verifies the upstream's certificate
        return exec("@" .. profile)
    end
end

-- Rewrite phase of the named locations location / hands requests over to
-- (upstream TLS profiles, gRPC): the request's ctx, which ngx.exec dropped.
function _M.handover()
    ctxref.apply()
end

function _M.buffered_header_filter()
    return buffered.upstream_header_filter()
end

function _M.balancer()
    return balancer.execute()
end

-- A copy of a header nginx adds (set by a plugin's header_filter, or the
-- buffered answer's from the upstream) gives way, as Kong overwrites it.
local function clear_own(names)
    for i = 1, #names do
        local name = names[i]
        if header[name] then
            header[name] = nil
        end
    end
end

-- Kong's order: the hop-by-hop clearing, the upstream status and the hash
-- cookie before the plugins' header_filter; the latency, Via, Server and
-- request id headers after them (a plugin neither sees nor removes them,
-- and a Server header a plugin removed is Kong's own again).
--
-- `by_nginx` (location / only): nginx's add_header sends the headers
-- settings.nginx_headers names, after this filter, so after the plugins as
-- in Kong. An ngx.header write costs ~2k instructions, a variable write
-- ~0.5k and an add_header less: this filter writes the two latencies into
-- variables, and add_header sends them, Via (a map of the upstream's) and
-- the request id; the upstream's own copies are proxy_hide_header'ed.
function _M.header_filter(by_nginx)
    local ctx = ngx.ctx
    if ctx.kongpy_logging and not ctx.kongpy_hf_start then
        ctx.kongpy_hf_start = now() * 1000
    end
    if tracing then
        instrumentation.header_filter(ctx)
    end
    local proxied = ctx.kongpy_proxied
    if proxied then
        local cookie = ctx.kongpy_hash_cookie
        if cookie then
            local prev = header["Set-Cookie"]
            if prev then
                header["Set-Cookie"] = type(prev) == "table" and { cookie, unpack(prev) }
                                       or { cookie, prev }
            else
                header["Set-Cookie"] = cookie
            end
        end
        if var.kongpy_response_hop ~= "" then
            hop.clear_response()
        end
        if enabled["x-kong-upstream-status"] then
            header["X-Kong-Upstream-Status"] = tonumber(sub(ctx.kongpy_upstream_status
                                                            or var.upstream_status or "", -3))
        end
    end
    local collecting = plugins.collecting
    if collecting then
        plugins.run_collected("header_filter", ctx)
    end
    local nginx = by_nginx and by_nginx_set or NONE
    if proxied then
        -- nginx refreshed its clock when the upstream's answer woke the
        -- worker: no update_time() needed for a millisecond figure
        local upstream_ms = floor((now() - ctx.kongpy_access_end) * 1000 + 0.5)
        -- a buffered answer was made here from the subrequest's: its
        -- upstream variables are not this request's
        local vars = nginx ~= NONE and not ctx.buffered_status
        if vars then
            local collected = ctx.kongpy_collected
            if collected and collected.filtering then
                clear_own(nginx_names)
            end
            if nginx["x-kong-upstream-latency"] or nginx["via"] then
                -- the Via map's mark of a proxied answer as well
                var.kongpy_upstream_latency = upstream_ms
            end
            if nginx["x-kong-proxy-latency"] then
                var.kongpy_proxy_latency = ctx.kongpy_proxy_latency
            end
        elseif nginx["x-kong-request-id"] then
            clear_own(REQUEST_ID)
        end
        local added = vars and nginx or NONE
        if enabled["x-kong-upstream-latency"] and not added["x-kong-upstream-latency"] then
            header["X-Kong-Upstream-Latency"] = upstream_ms
        end
        if enabled["x-kong-proxy-latency"] and not added["x-kong-proxy-latency"] then
            header["X-Kong-Proxy-Latency"] = ctx.kongpy_proxy_latency
        end
        if enabled["via"] and not added["via"] then
            local resp_via = ctx.kongpy_upstream_via or var.upstream_http_via
            header["Via"] = resp_via and resp_via .. ", " .. via_out or via_out
        end
        if enabled["server"] and not header["Server"] then
            header["Server"] = server_header
        end
    else
        if nginx["x-kong-request-id"] then
            clear_own(REQUEST_ID)
        end
        if enabled["x-kong-response-latency"] then
            header["X-Kong-Response-Latency"] = errors.latency_ms()
        end
        if not (enabled["via"] and header["Via"] == server_header) then
            header["Server"] = enabled["server"] and server_header or nil
        end
    end
    if enabled["x-kong-request-id"] and not nginx["x-kong-request-id"] then
        header["X-Kong-Request-Id"] = ctx.kongpy_request_id or get_request_id()
    end
end

function _M.body_filter()
    if plugins.collecting then
        local ctx = ngx.ctx
        plugins.run_collected("body_filter", ctx)
        if ctx.kongpy_logging then
            -- Kong's KONG_BODY_FILTER_ENDED_AT (the log object's receive
            -- time): the last call is the one with the end of the body;
            -- reading ngx.arg[2] (a C function) costs more than the clock
            ctx.kongpy_bf_end = now_ms()
        end
    end
end

function _M.log()
    local ctx = ngx.ctx
    if ctx.kongpy_upstream then
        balancer.log(ctx)
    end
    if tracing then
        instrumentation.log(ctx)
    end
    if plugins.collecting then
        plugins.run_collected("log", ctx)
    end
end

function _M.error_page()
    ctxref.apply()
    ngx.ctx.kongpy_unexpected = true
    return errors.error_page(get_request_id())
end

-- The error page's header filter: the plugins the request collected.
function _M.error_header_filter()
    if tracing then
        instrumentation.header_filter(ngx.ctx)
    end
    if plugins.collecting then
        local ctx = ngx.ctx
        if ctx.kongpy_logging and not ctx.kongpy_hf_start then
            ctx.kongpy_hf_start = now() * 1000
        end
        plugins.run_collected("header_filter", ctx)
    end
end

return _M
