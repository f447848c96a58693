-- udp-log (Kong 3.9): the log entry as one JSON datagram, sent from a timer.
local json = require("kongpy.tools.log_json")
local logsend = require("kongpy.tools.logsend")
local log_entry = require("kongpy.tools.log_entry")

local kong = require("kongpy.pdk")
local udp = ngx.socket.udp

local tostring = tostring

local NAME = "udp-log"

local UdpLogHandler = {
    PRIORITY = 8,
    VERSION = "3.9.1",
}

local function send(conf, message)
    local data, eerr = json.encode(message)
    if not data then
        return nil, "failed to encode the log entry: " .. eerr
    end
    local sock = udp()
    sock:settimeout(conf.timeout)
    local ok, err = sock:setpeername(conf.host, conf.port)
    if not ok then
        return nil, "could not connect to " .. conf.host .. ":" .. tostring(conf.port)
                    .. ": " .. tostring(err)
    end
    ok, err = sock:send(data)
    sock:close()
    if not ok then
        return nil, "could not send data to " .. conf.host .. ":" .. tostring(conf.port)
                    .. ": " .. tostring(err)
    end
    return true
end

function UdpLogHandler:log(conf)
    log_entry.set_custom_fields(conf)
    logsend.enqueue(NAME, NAME .. " " .. conf.host .. ":" .. conf.port, send, conf,
                    kong.log.serialize())
end

return UdpLogHandler
