-- ldap-auth's conversation with the directory over a cosocket: connect
-- (LDAPS, or StartTLS on a new plain connection), one simple bind, and the
-- connection back to a pool kept apart per transport, so a TLS connection is
-- never handed to a plain configuration or the other way round.
local ber = require("kong.plugins.ldap-auth.ber")
local dns = require("kongpy.dns")

local ngx = ngx
local tcp = ngx.socket.tcp
local byte = string.byte
local find = string.find
local tostring = tostring

local ERR_CONNECT = "failed to connect to %s:%s: %s"
local ERR_HANDSHAKE = "failed to do SSL handshake with %s:%s: %s"
local ERR_START_TLS = "StartTLS refused by %s:%s: %s"
local ERR_IO = "LDAP exchange with %s:%s failed: %s"
local ERR_ID = "answer to another message"
local ERR_TOO_LONG = "message too long"

-- LDAP result codes the bind may answer with (RFC 4511 4.1.9).
local SUCCESS = 0
local MAX_ID = 2147483647

local _M = {}

local last_id = 0

local function next_id()
    last_id = last_id % MAX_ID + 1
    return last_id
end

-- Reads one whole LDAPMessage: the tag and first length byte, the long-form
-- length bytes, then the content.
local function receive(sock)
    local head, err = sock:receive(2)
    if not head then
        return nil, err
    end
    local first = byte(head, 2)
    local extra
    extra, err = ber.extra_length_bytes(first)
    if not extra then
        return nil, err
    end
    local rest = ""
    if extra > 0 then
        rest, err = sock:receive(extra)
        if not rest then
            return nil, err
        end
    end
    local len = ber.content_length(first, rest)
    if len > ber.MAX_MESSAGE then
        return nil, ERR_TOO_LONG
    end
    local content = ""
    if len > 0 then
        content, err = sock:receive(len)
        if not content then
            return nil, err
        end
    end
    return head .. rest .. content
end

-- Sends a request, reads its LDAPResult; nil, err on any protocol trouble.
local function exchange(sock, id, request)
    local ok, err = sock:send(request)
    if not ok then
        return nil, err
    end
    local raw
    raw, err = receive(sock)
    if not raw then
        return nil, err
    end
    local result
    result, err = ber.decode_result(raw)
    if not result then
        return nil, err
    end
    if result.id ~= id then
        return nil, ERR_ID
    end
    return result
end

local function fail(sock, fmt, conf, err)
    sock:close()
    return nil, fmt:format(conf.ldap_host, conf.ldap_port, tostring(err))
end

local function is_ip(host)
    return find(host, "^[%d.]+$") ~= nil or find(host, ":", 1, true) ~= nil
end

local function address(host)
    if is_ip(host) then
        return host
    end
    local rec, err = dns.resolve(host)
    if not rec then
        return nil, err
    end
    return rec.addrs[1]
end

local function connect(conf)
    local sock = tcp()
    if conf.timeout then
        sock:settimeout(conf.timeout)
    end
    local transport = conf.ldaps and "ldaps" or conf.start_tls and "starttls" or "ldap"
    local pool = "ldap-auth:" .. transport .. ":" .. (conf.verify_ldap_host and "v:" or "")
                 .. conf.ldap_host .. ":" .. conf.ldap_port
    local host, err = address(conf.ldap_host)
    if not host then
        return fail(sock, ERR_CONNECT, conf, err)
    end
    local ok
    ok, err = sock:connect(host, conf.ldap_port, { pool = pool })
    if not ok then
        return fail(sock, ERR_CONNECT, conf, err)
    end
    if transport == "ldap" or sock:getreusedtimes() > 0 then
        return sock
    end
    if transport == "starttls" then
        local id = next_id()
        local result
        result, err = exchange(sock, id, ber.start_tls_request(id))
        if not result then
            return fail(sock, ERR_IO, conf, err)
        end
        if result.code ~= SUCCESS then
            return fail(sock, ERR_START_TLS, conf, result.code .. " " .. result.diagnostic)
        end
    end
    -- `false`: no TLS session is asked back. Debian's lua-nginx-module
    -- sometimes reports a failed verification late: with a session asked for
    -- lua-resty-core trips an assertion, without one the call returns true
    -- on a socket already closed; both count as the failure they are.
    ok, err = sock:sslhandshake(false, conf.ldap_host, conf.verify_ldap_host)
    if ok and not sock:getreusedtimes() then
        ok, err = nil, "connection closed during the handshake"
    end
    if not ok then
        sock:close()
        -- Kong counts a failed handshake as refused credentials (a 401)
        return false, ERR_HANDSHAKE:format(conf.ldap_host, conf.ldap_port, tostring(err))
    end
    return sock
end

-- bind(conf, dn, password) -> true (accepted) | false, why (refused) |
-- nil, err (the directory could not be asked). A pooled connection the
-- directory closed meanwhile is replaced once by a new one.
function _M.bind(conf, dn, password)
    local sock, err, result
    for _ = 1, 2 do
        sock, err = connect(conf)
        if not sock then
            return sock, err
        end
        local id = next_id()
        local reused = sock:getreusedtimes() > 0
        result, err = exchange(sock, id, ber.bind_request(id, dn, password))
        if result or not reused then
            break
        end
        sock:close()
    end
    if not result then
        return fail(sock, ERR_IO, conf, err)
    end
    if result.op ~= ber.BIND_RESPONSE then
        return fail(sock, ERR_IO, conf, "not a BindResponse")
    end
    sock:setkeepalive(conf.keepalive)
    if result.code ~= SUCCESS then
        return false, "bind refused: " .. result.code .. " " .. result.diagnostic
    end
    return true
end

return _M
