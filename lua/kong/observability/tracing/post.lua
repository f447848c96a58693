-- A minimal HTTP/1.1 POST over a cosocket for the trace exporters
-- (opentelemetry, zipkin), called from kong.tools.queue's timer. It sends one
-- body with Content-Length and reads the status line, headers and a
-- Content-Length or chunked body; the connection goes back to the pool when
-- the collector keeps it alive. TLS is not verified, as Kong's exporters.
local ngx = ngx
local tcp = ngx.socket.tcp

local tonumber = tonumber
local pairs = pairs
local lower = string.lower
local match = string.match
local concat = table.concat

local ERR_URL = "invalid endpoint: "
local KEEPALIVE_MS = 60000

local _M = {}

local function parse(url)
    local scheme, host, port, path = match(url, "^(https?)://([^/:]+):?(%d*)(.*)$")
    if not scheme then
        return nil
    end
    if match(host, "^%[") then
        return nil
    end
    port = tonumber(port) or (scheme == "https" and 443 or 80)
    return scheme, host, port, path ~= "" and path or "/"
end

local function read_body(sock, headers)
    local len = tonumber(headers["content-length"])
    if len then
        return len > 0 and sock:receive(len) or ""
    end
    if headers["transfer-encoding"] == "chunked" then
        local parts = {}
        while true do
            local line, err = sock:receive("*l")
            if not line then
                return nil, err
            end
            local size = tonumber(match(line, "^%x+"), 16)
            if not size then
                return nil, "bad chunk"
            end
            if size == 0 then
                sock:receive("*l")
                return concat(parts)
            end
            parts[#parts + 1] = sock:receive(size)
            sock:receive("*l")
        end
    end
    return ""
end

-- post(url, body, headers, timeouts{connect, send, read}) → status, body | nil, err
function _M.post(url, body, headers, timeouts)
    local scheme, host, port, path = parse(url)
    if not scheme then
        return nil, ERR_URL .. url
    end
    local sock = tcp()
    sock:settimeouts(timeouts.connect, timeouts.send, timeouts.read)
    local ok, err = sock:connect(host, port)
    if not ok then
        return nil, "failed to connect to " .. host .. ":" .. port .. ": " .. err
    end
    if scheme == "https" and sock:getreusedtimes() == 0 then
        ok, err = sock:sslhandshake(nil, host, false)
        if not ok then
            sock:close()
            return nil, "TLS handshake with " .. host .. " failed: " .. err
        end
    end
    local authority = host
    if port ~= (scheme == "https" and 443 or 80) then
        authority = host .. ":" .. port
    end
    local req = { "POST ", path, " HTTP/1.1\r\nHost: ", authority, "\r\nContent-Length: ", #body,
                  "\r\n" }
    for k, v in pairs(headers) do
        req[#req + 1] = k .. ": " .. v .. "\r\n"
    end
    req[#req + 1] = "\r\n"
    req[#req + 1] = body
    ok, err = sock:send(req)
    if not ok then
        sock:close()
        return nil, "failed to send request: " .. err
    end
    local line
    line, err = sock:receive("*l")
    local status = line and tonumber(match(line, "^HTTP/%d%.%d (%d%d%d)"))
    if not status then
        sock:close()
        return nil, "failed to read response: " .. (err or "bad status line")
    end
    local rheaders = {}
    while true do
        line, err = sock:receive("*l")
        if not line then
            sock:close()
            return nil, "failed to read response: " .. err
        end
        if line == "" then
            break
        end
        local k, v = match(line, "^([^:]+):%s*(.-)%s*$")
        if k then
            rheaders[lower(k)] = v
        end
    end
    local rbody
    rbody, err = read_body(sock, rheaders)
    if not rbody then
        sock:close()
        return nil, "failed to read response body: " .. err
    end
    if lower(rheaders["connection"] or "") == "close" then
        sock:close()
    else
        sock:setkeepalive(KEEPALIVE_MS)
    end
    return status, rbody
end

return _M
