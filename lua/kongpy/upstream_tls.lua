-- Upstream TLS of a proxied request (docs/upstream-tls.md): which rendered
-- location verifies the upstream's certificate (tls_verify, the trust store
-- of the service's ca_certificates or lua_ssl_trusted_certificate, the
-- depth), which client certificate goes out (the service's, else the
-- balanced upstream's), and which keepalive block may carry the connection.
--
-- Debian's lua-nginx-module has no per-request upstream TLS API and no
-- ngx.balancer.enable_keepalive: verification is a location setting and
-- nginx pools idle connections per upstream block and peer address only.
-- So each worker hands every distinct TLS setting (profile, SNI, client
-- certificate) a keepalive block of its own for the worker's whole life; a
-- block never carries connections made with another setting. Past the last
-- block, requests use kongpy_upstream_tls, which keeps no connection.
local settings = require("kongpy.settings")

local ngx = ngx
local var = ngx.var
local md5 = ngx.md5
local type = type
local tostring = tostring
local sort = table.sort
local concat = table.concat

local ERR_CA = "service %s: CA certificate %s is not in the configuration"
local ERR_STORE = "service %s: no trust store for its upstream TLS verification is loaded"
                  .. " (ca_certificates or tls_verify_depth changed; it is applied when"
                  .. " the node reloads)"
local ERR_CERT = "%s: client certificate %s is not in the configuration"
local NO_KEEPALIVE = "kongpy_upstream_tls"
local BLOCK = "kongpy_upstream_tls_"
local GLOBAL = "global"

local _M = {}

-- per worker: TLS setting -> keepalive block, kept for the worker's life
local blocks = {}
local used = 0

-- per configuration version: service id / upstream id -> plan
local plans, upstream_certs = {}, {}
local plans_state, plans_version

local function certificate(entities, ref, owner)
    local id = type(ref) == "table" and ref.id
    if type(id) ~= "string" then
        return nil
    end
    local certs = entities.certificates
    local row = certs and certs[id]
    if type(row) ~= "table" or type(row.cert) ~= "string" or type(row.key) ~= "string" then
        return false, ERR_CERT:format(owner, id)
    end
    return {
        cert = "data:" .. row.cert,
        key = "data:" .. row.key,
        tag = id .. ":" .. md5(row.cert .. "\0" .. row.key),
    }
end

-- "global", or the sorted cert_digests of the service's CA certificates: the
-- key render/upstream_tls.py names the rendered stores by.
local function trust_store(entities, svc)
    local ids = svc.ca_certificates
    if type(ids) ~= "table" then
        return GLOBAL
    end
    local cas = entities.ca_certificates
    local digests, seen = {}, {}
    for i = 1, #ids do
        local row = cas and cas[ids[i]]
        if type(row) ~= "table" or type(row.cert_digest) ~= "string" then
            return nil, ERR_CA:format(svc.id, tostring(ids[i]))
        end
        local d = row.cert_digest
        if not seen[d] then
            seen[d] = true
            digests[#digests + 1] = d
        end
    end
    sort(digests)
    return concat(digests, ",")
end

local function plan_service(entities, svc)
    local tls = settings.upstream_tls
    local plan = { profile = false, setting = "off" }
    if svc.tls_verify == true then
        local store, err = trust_store(entities, svc)
        if not store then
            return { err = err }
        end
        local depth = svc.tls_verify_depth
        if type(depth) ~= "number" then
            depth = tls.verify_depth
        end
        local name = tls.profiles[store .. "|" .. depth]
        if not name then
            return { err = ERR_STORE:format(svc.id) }
        end
        plan.profile = name
        plan.setting = name
    end
    local cert, err = certificate(entities, svc.client_certificate, "service " .. svc.id)
    if cert == false then
        return { err = err }
    end
    plan.cert = cert
    return plan
end

local function fresh(state)
    if plans_state ~= state or plans_version ~= state.version then
        plans, upstream_certs = {}, {}
        plans_state, plans_version = state, state.version
    end
end

local function block_for(setting)
    local name = blocks[setting]
    if name then
        return name
    end
    if used >= settings.upstream_tls.pools then
        return NO_KEEPALIVE
    end
    used = used + 1
    name = BLOCK .. used
    blocks[setting] = name
    return name
end

-- Sets the client certificate and the keepalive block of an https request.
-- Returns the profile location to hand the request to (false: location /
-- proxies it without verification), or nil, err when the request must not
-- go out (fail closed).
function _M.prepare(ctx, state, service)
    fresh(state)
    local entities = state.entities
    local id = service.id
    local plan = plans[id]
    if not plan then
        plan = plan_service(entities, service.raw)
        plans[id] = plan
    end
    if plan.err then
        return nil, plan.err
    end
    local cert = plan.cert
    local up = ctx.kongpy_upstream
    if not cert and up then
        -- Kong: the upstream's client_certificate when the service has none
        cert = upstream_certs[up.id]
        if cert == nil then
            local rows = entities.upstreams
            local row = rows and rows[up.id]
            local err
            cert, err = certificate(entities, row and row.client_certificate,
                                    "upstream " .. up.id)
            if cert == false then
                upstream_certs[up.id] = { err = err }
                return nil, err
            end
            upstream_certs[up.id] = cert or false
        elseif cert.err then
            return nil, cert.err
        end
    end
    local setting = plan.setting .. "|" .. var.upstream_ssl_name
    if cert then
        var.kongpy_client_cert = cert.cert
        var.kongpy_client_key = cert.key
        setting = setting .. "|" .. cert.tag
    end
    var.kongpy_upstream_block = block_for(setting)
    return plan.profile
end

return _M
