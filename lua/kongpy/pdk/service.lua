-- kong.service: where this request is proxied to. The access phase runs the
-- plugins before kongpy.balancer resolves the service's host, so a target,
-- retries or timeouts set here (kept in ngx.ctx.kongpy_balancer) replace the
-- service's for this request only.
local phase = require("kongpy.pdk.phase")

local ngx = ngx
local var = ngx.var
local check = phase.check
local unsupported = phase.unsupported

local type = type
local error = error
local floor = math.floor

local ACCESS = phase.PHASES.access
local TARGET = phase.new("rewrite", "access", "balancer", "preread")
local MAX_TIMEOUT = 2147483646
local ERR_NO_UPSTREAM = "could not find an Upstream named '"
local NO_TLS = "per-request upstream TLS settings need lua-kong-nginx-module, which the "
               .. "nginx 1.22 kongpy runs on does not have (use the service's tls_verify "
               .. "fields when kongpy has them)"

local _M = {
    request = require("kongpy.pdk.service_request"),
    response = require("kongpy.pdk.service_response"),
}

local function overrides()
    local ctx = ngx.ctx
    local b = ctx.kongpy_balancer
    if not b then
        b = {}
        ctx.kongpy_balancer = b
    end
    return b
end

local function is_int(v)
    return type(v) == "number" and floor(v) == v
end

function _M.set_upstream(host)
    check("kong.service.set_upstream", ACCESS)
    if type(host) ~= "string" then
        error("host must be a string", 2)
    end
    -- required here: kongpy.snapshot loads the PDK's store before this module
    local ups = require("kongpy.snapshot").state.upstreams
    if not (ups and ups.by_name[host]) then
        return nil, ERR_NO_UPSTREAM .. host .. "'"
    end
    local b = overrides()
    b.host = host
    b.port = nil
    return true
end

-- set_upstream(host): balance this request over the upstream named host;
-- the upstream Host header follows the chosen target, as Kong's.

-- set_target(host, port): proxy this request to host:port (an address or a
-- name resolved like a service's host); the upstream Host header becomes host.
function _M.set_target(host, port)
    check("kong.service.set_target", TARGET)
    if type(host) ~= "string" then
        error("host must be a string", 2)
    end
    if not is_int(port) then
        error("port must be an integer", 2)
    end
    if port < 0 or port > 65535 then
        error("port must be an integer between 0 and 65535: given " .. port, 2)
    end
    if ngx.get_phase() == "balancer" then
        unsupported("kong.service.set_target", "the target is resolved before the balancer "
                    .. "phase; call it in rewrite or access")
    end
    var.upstream_host = host
    local b = overrides()
    b.host = host
    b.port = port
end

function _M.set_retries(retries)
    check("kong.service.set_retries", ACCESS)
    if not is_int(retries) then
        error("retries must be an integer", 2)
    end
    if retries < 0 or retries > 32767 then
        error("retries must be an integer between 0 and 32767: given " .. retries, 2)
    end
    overrides().retries = retries
end

local function timeout(name, v)
    if not is_int(v) then
        error(name .. " must be an integer", 3)
    end
    if v < 1 or v > MAX_TIMEOUT then
        error(name .. " must be an integer between 1 and " .. MAX_TIMEOUT .. ": given " .. v, 3)
    end
end

-- set_timeouts(connect, write, read): milliseconds, as Kong takes them.
function _M.set_timeouts(connect_timeout, write_timeout, read_timeout)
    check("kong.service.set_timeouts", ACCESS)
    timeout("connect_timeout", connect_timeout)
    timeout("write_timeout", write_timeout)
    timeout("read_timeout", read_timeout)
    local b = overrides()
    b.connect_timeout = connect_timeout / 1000
    b.write_timeout = write_timeout / 1000
    b.read_timeout = read_timeout / 1000
end

function _M.set_tls_verify(on)
    check("kong.service.set_tls_verify", TARGET)
    if type(on) ~= "boolean" then
        error("argument must be a boolean", 2)
    end
    unsupported("kong.service.set_tls_verify", NO_TLS)
end

function _M.set_tls_verify_depth(depth)
    check("kong.service.set_tls_verify_depth", TARGET)
    if type(depth) ~= "number" then
        error("argument must be a number", 2)
    end
    unsupported("kong.service.set_tls_verify_depth", NO_TLS)
end

function _M.set_tls_verify_store(store)
    check("kong.service.set_tls_verify_store", TARGET)
    if type(store) ~= "table" then
        error("argument must be a resty.openssl.x509.store object", 2)
    end
    unsupported("kong.service.set_tls_verify_store", NO_TLS)
end

function _M.set_tls_cert_key(chain, key)
    check("kong.service.set_tls_cert_key", TARGET)
    if type(chain) ~= "cdata" then
        error("chain must be a parsed cdata object", 2)
    end
    if type(key) ~= "cdata" then
        error("key must be a parsed cdata object", 2)
    end
    unsupported("kong.service.set_tls_cert_key", NO_TLS)
end

return _M
