-- tcp-log (Kong 3.9): the log entry as JSON plus "\n", sent from a timer on a
-- kept-alive connection; with `tls`, a handshake (SNI `tls_sni`, no
-- verification) on each new connection only.
local json = require("kongpy.tools.log_json")
local logsend = require("kongpy.tools.logsend")
local log_entry = require("kongpy.tools.log_entry")

local kong = require("kongpy.pdk")
local ngx = ngx
local tcp = ngx.socket.tcp

local tostring = tostring

local NAME = "tcp-log"

local TcpLogHandler = {
    PRIORITY = 7,
    VERSION = "3.9.1",
}

local function failed(what, conf, err)
    return nil, what .. conf.host .. ":" .. tostring(conf.port) .. ": " .. tostring(err)
end

local function send(conf, message)
    local sock = tcp()
    sock:settimeout(conf.timeout)
    local ok, err = sock:connect(conf.host, conf.port)
    if not ok then
        return failed("failed to connect to ", conf, err)
    end
    if conf.tls and sock:getreusedtimes() == 0 then
        ok, err = sock:sslhandshake(true, conf.tls_sni, false)
        if not ok then
            sock:close()
            return failed("failed to perform TLS handshake to ", conf, err)
        end
    end
    local line, eerr = json.encode(message)
    if not line then
        sock:setkeepalive(conf.keepalive)
        return nil, "failed to encode the log entry: " .. eerr
    end
    ok, err = sock:send(line .. "\n")
    if not ok then
        sock:close()
        return failed("failed to send data to ", conf, err)
    end
    ok, err = sock:setkeepalive(conf.keepalive)
    if not ok then
        return failed("failed to keepalive to ", conf, err)
    end
    return true
end

function TcpLogHandler:log(conf)
    log_entry.set_custom_fields(conf)
    local key = NAME .. " " .. conf.host .. ":" .. conf.port .. (conf.tls and " tls" or "")
    logsend.enqueue(NAME, key, send, conf, kong.log.serialize())
end

return TcpLogHandler
