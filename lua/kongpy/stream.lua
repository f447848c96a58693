-- The stream data plane (docs/streams.md): entry points the nginx stream
-- module (nginx/stream/ngx_stream_kongpy_module.c) calls in each stream
-- worker. This VM is not lua-nginx-module's: there is no `ngx` API beyond
-- the few functions the module passes to init (`api`), and no cosockets.
--
-- The configuration comes from the stream snapshot file; a worker looks at
-- the file at most every CHECK_INTERVAL seconds, on its next connection, and
-- rebuilds when it was replaced. A file that does not build is logged and
-- the previous configuration kept.
local cjson = require("cjson.safe")

local type = type
local ipairs = ipairs
local pcall = pcall
local tonumber = tonumber
local max = math.max
local io_open = io.open
local error = error
local setmetatable = setmetatable
local select = select
local tostring = tostring

local CHECK_INTERVAL = 0.1
local ERR_NO_ROUTE = "no Route found with those values"
local ERR_NO_CONFIG = "no stream configuration loaded yet"
local ERR_PLUGIN = "plugin %s cannot run on stream connections"
local ERR_ALGORITHM = "upstream %s: algorithm %s is not supported on stream services"
local ERR_PEER = "upstream %s: %s"
local ERR_CA = "service %s: ca_certificates are not supported on stream services"

local _M = {}

local C                   -- the module's functions
local settings = {}
local config, pdk, router -- required once the ngx shim exists
local state               -- what this worker serves
local handlers = {}       -- plugin name -> handler (or false)
local last_check, last_id = -1, nil
local default_cert
local md5_buf
local hash_input

local function read_file(path)
    local f, err = io_open(path, "rb")
    if not f then
        return nil, err
    end
    local data = f:read("*a")
    f:close()
    return data
end

-- What Lua libraries shared with the HTTP data plane expect of `ngx`.
-- MD5 from the libcrypto nginx links (consistent hashing's ring)
local function md5_bin(text)
    local ffi = require("ffi")
    if not md5_buf then
        ffi.cdef("unsigned char *MD5(const unsigned char *d, size_t n, unsigned char *md);")
        md5_buf = ffi.new("unsigned char[16]")
    end
    ffi.C.MD5(text, #text, md5_buf)
    return ffi.string(md5_buf, 16)
end

local function unavailable(what)
    return function()
        error(what .. " is not available on stream connections", 2)
    end
end

local function install_ngx_shim()
    _G.ngx = {
        md5_bin = md5_bin,
        var = setmetatable({}, { __index = function(_, name) return C.var(name) end }),
        req = setmetatable({}, { __index = function(_, name)
            return unavailable("ngx.req." .. name)
        end }),
        shared = {},
        null = cjson.null,
        now = C.now,
        update_time = C.update_time,
        log = function(level, ...)
            local parts = { ... }
            for i = 1, select("#", ...) do
                parts[i] = tostring(parts[i])
            end
            C.log(level, table.concat(parts))
        end,
        ERR = C.ERR, WARN = C.WARN, NOTICE = C.NOTICE, INFO = C.INFO, DEBUG = C.DEBUG,
        ALERT = C.ALERT, CRIT = C.CRIT, EMERG = C.EMERG,
        config = { subsystem = "stream" },
    }
end

local function refresh()
    local now = C.now()
    if state and now - last_check < CHECK_INTERVAL then
        return
    end
    last_check = now
    local path = settings.stream_snapshot_path
    local id = path and C.stat(path)
    if not id or id == last_id then
        return
    end
    last_id = id
    local blob, err = read_file(path)
    local doc
    if blob then
        doc, err = cjson.decode(blob)
    end
    local st
    if doc then
        st, err = config.build(doc, handlers, function(msg) C.log(C.WARN, msg) end,
                               settings.router_flavor)
    end
    if not st then
        C.log(C.ERR, "stream configuration not applied, keeping the previous one: "
              .. tostring(err))
        return
    end
    state = st
end

function _M.init(api, settings_path)
    C = api
    install_ngx_shim()
    local blob, err = read_file(settings_path)
    if not blob then
        error("cannot read settings file: " .. tostring(err))
    end
    settings = cjson.decode(blob) or {}
    config = require("kongpy.stream.config")
    router = require("kongpy.stream.router")
    pdk = require("kongpy.stream.pdk")
    hash_input = require("kongpy.balancers.consistent_hashing").hash_input
    pdk.bind(C, settings.configuration, settings.trusted_ips)
    package.loaded["kongpy.pdk"] = pdk
    _G.kong = pdk
    local files = settings.ssl_certificates
    if type(files) == "table" and files[1] then
        local cert = read_file(files[1].cert)
        local key = read_file(files[1].key)
        if cert and key then
            default_cert = { cert = "data:" .. cert, key = "data:" .. key }
        end
    end
    refresh()
end

local function connection(role)
    local var = C.var
    local conn = {
        src_ip = var("remote_addr"),
        src_port = tonumber(var("remote_port")),
        dst_ip = var("server_addr"),
        dst_port = tonumber(var("server_port")),
    }
    if role == "udp" then
        conn.protocol = "udp"
    elseif role == "tls" then
        conn.protocol = "tls_passthrough"
        conn.sni = var("ssl_preread_server_name")
    elseif role == "terminate" then
        -- reached over the node's own socket: the listener's address travels
        -- in the PROXY protocol header
        conn.protocol = "tls"
        conn.sni = var("ssl_server_name")
        conn.dst_ip = var("proxy_protocol_server_addr")
        conn.dst_port = tonumber(var("proxy_protocol_server_port"))
    else
        conn.protocol = "tcp"
    end
    if conn.sni == "" then
        conn.sni = nil
    end
    return conn
end

local function run_plugins(route, conn)
    local ctx = { conn = conn, route = route.route, service = route.service, shared = {} }
    for _, p in ipairs(route.plugins) do
        if not p.runnable then
            C.log(C.ERR, ERR_PLUGIN:format(p.name))
            return 500
        end
        ctx.plugin_ctx = {}
        pdk.set_current(ctx)
        local ok, err = pcall(p.handler.preread, p.handler, p.conf)
        pdk.set_current(nil)
        if not ok then
            C.log(C.ERR, p.name .. ": " .. tostring(err))
            return 500
        end
        if ctx.exit_status then
            return ctx.exit_status
        end
    end
    return nil
end

local function client_certificate(service)
    local ref = service.client_certificate
    local c = type(ref) == "table" and state.certificates[ref.id]
    return c and c.usable and c or nil
end

local function plan_for(service)
    local plan = {
        connect_timeout = service.connect_timeout,
        timeout = max(service.read_timeout or 0, service.write_timeout or 0),
        tries = (service.retries or 0) + 1,
        proxy = "kongpy_stream_balancer",
        failed = {},
    }
    if service.protocol == "tls" then
        plan.ssl = true
        plan.ssl_name = service.host
        plan.ssl_verify = service.tls_verify == true
        if plan.ssl_verify and type(service.ca_certificates) == "table"
           and service.ca_certificates[1] then
            C.log(C.ERR, ERR_CA:format(service.id))
            return nil
        end
        if service.client_certificate then
            local c = client_certificate(service)
            if not c then
                return nil
            end
            plan.client_cert, plan.client_key = c.cert, c.key
        end
    end
    local up = state.upstreams[service.host]
    if up then
        if not up.balancer then
            C.log(C.ERR, ERR_ALGORITHM:format(up.name, tostring(up.unsupported)))
            return nil
        end
        plan.upstream = up
        plan.tried = {}
        if up.hash then
            plan.hash = hash_input(up.hash, plan)
        end
    elseif config.is_ip(service.host) then
        plan.address = { host = service.host, port = service.port }
    else
        -- nginx resolves the name (the stream block's resolver)
        plan.proxy = service.host .. ":" .. tostring(service.port)
    end
    return plan
end

-- preread: the plan table the module applies, or the status that ends the
-- connection.
function _M.preread(role)
    refresh()
    if not state then
        C.log(C.ERR, ERR_NO_CONFIG)
        return 500
    end
    local conn = connection(role)
    local route = router.match(state.router, conn)
    if not route then
        if role == "tls" then
            -- not a passthrough: TLS is terminated by the node's own server
            return {
                proxy = settings.stream_tls_proxy, proxy_protocol = true, tries = 1,
            }
        end
        C.log(C.ERR, ERR_NO_ROUTE)
        return 500
    end
    local status = run_plugins(route, conn)
    if status then
        return status
    end
    local service = route.service
    if not service then
        C.log(C.ERR, "no Service found with those values")
        return 503
    end
    return plan_for(service) or 500
end

-- Each try: the upstream's balancer, skipping the addresses that failed for
-- this connection; the previous try's address released first.
function _M.balancer(plan, _, last_failed)
    if plan.address then
        return plan.address.host, plan.address.port
    end
    local up = plan.upstream
    local b = up.balancer
    local prev = plan.last
    if prev then
        if last_failed then
            plan.tried[prev] = true
        end
        if b.release then
            b:release(plan, prev)
        end
        plan.last = nil
    end
    local a, err = b:get_peer(plan, plan.hash, plan.tried)
    if not a then
        return nil, ERR_PEER:format(up.name, tostring(err))
    end
    plan.last = a
    return a.ip, a.port
end

-- The connection is over (log phase): the balancer's bookkeeping.
function _M.log(plan)
    local a = plan.last
    if a then
        plan.last = nil
        plan.upstream.balancer:after_balance(plan, a)
    end
end

-- The certificate for the client's SNI, else the node's default one.
function _M.certificate()
    refresh()
    local sni = C.var("ssl_server_name")
    local c = state and config.certificate_for(state, sni)
    if c then
        return c.usable and c or nil
    end
    return default_cert
end

return _M
