-- A small HTTP/1.1 client over cosockets for the plugins that deliver data
-- from timers (http-log, opentelemetry, zipkin): one request per call, the
-- connection kept in a per-worker keepalive pool, TLS without certificate
-- verification (as Kong's http-log sends). Not for the request path's
-- header_filter/body_filter/log phases, where cosockets are unavailable.
--
--   local status, body, headers = http_client.request(url, {
--       method = "POST", headers = { ["Content-Type"] = "application/json" },
--       body = "...", timeout = 10000, keepalive = 60000 })
--   -- or nil, err
--
-- `timeout` (ms) is the connect, send and read timeout; `connect_timeout`,
-- `send_timeout` and `read_timeout` override it one by one. `keepalive` is
-- the idle time (ms) of the pooled connection; false or 0 closes it.
-- `url` may also be a table from parse_url().
local ngx = ngx
local tcp = ngx.socket.tcp

local type = type
local pairs = pairs
local tostring = tostring
local tonumber = tonumber
local concat = table.concat
local lower = string.lower
local match = string.match
local find = string.find
local sub = string.sub

local DEFAULT_TIMEOUT = 10000
local POOL_SIZE = 100
local MAX_HEADERS = 100
local ERR_URL = "invalid URL: "
local ERR_SCHEME = "unsupported URL scheme: "
local ERR_STATUS = "invalid status line: "
local ERR_HEADER = "invalid response header: "
local ERR_CHUNK = "invalid chunk size: "
local ERR_TOO_MANY = "too many response headers"

local PORTS = { http = 80, https = 443 }

local _M = {}

-- parse_url(url) -> {scheme, host, port, path, userinfo} or nil, err
-- `host` keeps the brackets of an IPv6 literal (the Host header form);
-- `path` includes the query string.
function _M.parse_url(url)
    if type(url) ~= "string" then
        return nil, ERR_URL .. tostring(url)
    end
    local scheme, rest = match(url, "^(%a[%w+.-]*)://(.*)$")
    if not scheme then
        return nil, ERR_URL .. url
    end
    scheme = lower(scheme)
    if not PORTS[scheme] then
        return nil, ERR_SCHEME .. scheme
    end
    local authority, path = match(rest, "^([^/?#]*)(.*)$")
    path = match(path, "^[^#]*")
    if path == "" then
        path = "/"
    elseif sub(path, 1, 1) == "?" then
        path = "/" .. path
    end
    local userinfo
    local at = find(authority, "@[^@]*$")
    if at then
        userinfo = sub(authority, 1, at - 1)
        authority = sub(authority, at + 1)
    end
    local host, port = match(authority, "^(%[[^%]]+%]):?(%d*)$")
    if not host then
        host, port = match(authority, "^([^:]+):?(%d*)$")
    end
    if not host or host == "" then
        return nil, ERR_URL .. url
    end
    port = port ~= "" and tonumber(port) or PORTS[scheme]
    if port < 1 or port > 65535 then
        return nil, ERR_URL .. url
    end
    return { scheme = scheme, host = host, port = port, path = path, userinfo = userinfo }
end

local function connect_host(host)
    return (match(host, "^%[(.*)%]$")) or host
end

local function request_head(u, method, headers, body)
    local lines = { method .. " " .. u.path .. " HTTP/1.1" }
    local has = {}
    for name, value in pairs(headers or {}) do
        has[lower(name)] = true
        if type(value) == "table" then
            for i = 1, #value do
                lines[#lines + 1] = name .. ": " .. tostring(value[i])
            end
        else
            lines[#lines + 1] = name .. ": " .. tostring(value)
        end
    end
    if not has.host then
        local default = PORTS[u.scheme] == u.port
        lines[#lines + 1] = "Host: " .. u.host .. (default and "" or ":" .. u.port)
    end
    if not has["content-length"] and (body or method == "POST" or method == "PUT"
                                       or method == "PATCH") then
        lines[#lines + 1] = "Content-Length: " .. #(body or "")
    end
    if not has["user-agent"] then
        lines[#lines + 1] = "User-Agent: kongpy"
    end
    lines[#lines + 1] = "\r\n"
    return concat(lines, "\r\n")
end

local function read_headers(sock)
    local line, err = sock:receive("*l")
    if not line then
        return nil, err
    end
    local version, status = match(line, "^HTTP/(%d%.%d) (%d%d%d)")
    if not status then
        return nil, ERR_STATUS .. line
    end
    local headers = {}
    for _ = 1, MAX_HEADERS do
        line, err = sock:receive("*l")
        if not line then
            return nil, err
        end
        if line == "" then
            return tonumber(status), headers, version
        end
        local name, value = match(line, "^([^:]+):%s*(.-)%s*$")
        if not name then
            return nil, ERR_HEADER .. line
        end
        name = lower(name)
        local prev = headers[name]
        if prev == nil then
            headers[name] = value
        elseif type(prev) == "table" then
            prev[#prev + 1] = value
        else
            headers[name] = { prev, value }
        end
    end
    return nil, ERR_TOO_MANY
end

local function read_chunked(sock)
    local parts = {}
    while true do
        local line, err = sock:receive("*l")
        if not line then
            return nil, err
        end
        local size = tonumber(match(line, "^%s*(%x+)"), 16)
        if not size then
            return nil, ERR_CHUNK .. line
        end
        if size == 0 then
            -- trailers end with an empty line
            repeat
                line, err = sock:receive("*l")
                if not line then
                    return nil, err
                end
            until line == ""
            return concat(parts)
        end
        local data
        data, err = sock:receive(size)
        if not data then
            return nil, err
        end
        parts[#parts + 1] = data
        local _
        _, err = sock:receive(2)
        if err then
            return nil, err
        end
    end
end

-- The body, and whether the connection may be reused afterwards.
local function read_body(sock, method, status, headers, version)
    local conn = lower(type(headers.connection) == "string" and headers.connection or "")
    local reusable = (version == "1.1" and conn ~= "close")
                     or (version == "1.0" and conn == "keep-alive")
    if method == "HEAD" or status == 204 or status == 304 or (status >= 100 and status < 200) then
        return "", reusable
    end
    local te = headers["transfer-encoding"]
    if type(te) == "string" and find(lower(te), "chunked", 1, true) then
        local body, err = read_chunked(sock)
        return body, reusable, err
    end
    local length = tonumber(headers["content-length"])
    if length then
        if length == 0 then
            return "", reusable
        end
        local body, err = sock:receive(length)
        return body, reusable, err
    end
    -- no framing: the body ends when the server closes
    local body, err, partial = sock:receive("*a")
    return body or partial, false, err
end

local function timeouts(opts)
    local t = opts.timeout or DEFAULT_TIMEOUT
    return opts.connect_timeout or t, opts.send_timeout or t, opts.read_timeout or t
end

-- request(url, opts) -> status, body, headers | nil, err
function _M.request(url, opts)
    opts = opts or {}
    local u, err = url
    if type(url) ~= "table" then
        u, err = _M.parse_url(url)
        if not u then
            return nil, err
        end
    end
    local method = opts.method or "GET"
    local sock = tcp()
    sock:settimeouts(timeouts(opts))
    local host = connect_host(u.host)
    local tls = u.scheme == "https"
    local pool = u.scheme .. ":" .. host .. ":" .. u.port
    local ok
    ok, err = sock:connect(host, u.port, { pool = pool, pool_size = POOL_SIZE })
    if not ok then
        return nil, "failed to connect to " .. host .. ":" .. u.port .. ": " .. tostring(err)
    end
    if tls and sock:getreusedtimes() == 0 then
        ok, err = sock:sslhandshake(nil, host, false)
        if not ok then
            sock:close()
            return nil, "failed to do SSL handshake with " .. host .. ":" .. u.port .. ": "
                        .. tostring(err)
        end
    end
    local body = opts.body
    ok, err = sock:send(request_head(u, method, opts.headers, body))
    if ok and body and #body > 0 then
        ok, err = sock:send(body)
    end
    if not ok then
        sock:close()
        return nil, "failed to send request to " .. host .. ":" .. u.port .. ": " .. tostring(err)
    end
    local status, headers, version = read_headers(sock)
    if not status then
        sock:close()
        return nil, "failed to read response from " .. host .. ":" .. u.port .. ": "
                    .. tostring(headers)
    end
    local resp, reusable, berr = read_body(sock, method, status, headers, version)
    if berr or not resp then
        sock:close()
        return nil, "failed to read response body from " .. host .. ":" .. u.port .. ": "
                    .. tostring(berr)
    end
    local keepalive = opts.keepalive
    if keepalive == nil then
        keepalive = 60000
    end
    if reusable and keepalive and keepalive > 0 then
        sock:setkeepalive(keepalive, POOL_SIZE)
    else
        sock:close()
    end
    return status, resp, headers
end

return _M
