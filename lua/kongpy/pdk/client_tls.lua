-- kong.client.tls: the client side of TLS. Kong drives it through
-- lua-kong-nginx-module; with Debian's nginx 1.22 and lua-resty-core 0.1.25
-- only ngx.ssl.verify_client (certificate phase) and the $ssl_client_*
-- variables are available, and kongpy runs no certificate phase yet.
local ssl = require("ngx.ssl")
local phase = require("kongpy.pdk.phase")

local ngx = ngx
local var = ngx.var
local check = phase.check
local unsupported = phase.unsupported

local type = type
local error = error
local tostring = tostring
local sub = string.sub

local CERTIFICATE = phase.PHASES.certificate
local REWRITE_AND_LATER = phase.new("rewrite", "access", "response", "balancer", "log")
local REWRITE_BEFORE_LOG = phase.new("rewrite", "access", "response", "balancer")
local NO_KONG_TLS = "needs lua-kong-nginx-module, which the nginx 1.22 kongpy runs on "
                    .. "does not have"

local _M = {}

-- Asks the client for a certificate (the handshake completes without one).
function _M.request_client_certificate()
    check("kong.client.tls.request_client_certificate", CERTIFICATE)
    return ssl.verify_client()
end

function _M.disable_session_reuse()
    check("kong.client.tls.disable_session_reuse", CERTIFICATE)
    unsupported("kong.client.tls.disable_session_reuse", NO_KONG_TLS)
end

function _M.set_client_ca_list()
    check("kong.client.tls.set_client_ca_list", CERTIFICATE)
    unsupported("kong.client.tls.set_client_ca_list", NO_KONG_TLS)
end

-- The client's certificate in PEM, or nil when it sent none. nginx 1.22
-- exposes only the leaf: intermediates the client sent are not included.
function _M.get_full_client_certificate_chain()
    check("kong.client.tls.get_full_client_certificate_chain", REWRITE_AND_LATER)
    local pem = var.ssl_client_raw_cert
    if not pem or pem == "" then
        return nil
    end
    return pem
end

-- Overrides request.tls.client_verify in kong.log.serialize().
function _M.set_client_verify(v)
    check("kong.client.tls.set_client_verify", REWRITE_BEFORE_LOG)
    if type(v) ~= "string" then
        error("client verify value must be a string", 2)
    end
    if v ~= "SUCCESS" and v ~= "NONE" and sub(v, 1, 7) ~= "FAILED:" then
        error("unknown client verify value: " .. tostring(v) .. " accepted values are: "
              .. "\"SUCCESS\", \"NONE\" or \"FAILED:<reason>\"", 2)
    end
    ngx.ctx.kongpy_client_verify = v
end

return _M
