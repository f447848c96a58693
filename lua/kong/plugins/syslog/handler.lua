-- syslog (Kong 3.9): the log entry as JSON to the local syslog socket, ident
-- "kong", severity by status (>= 500 server errors, >= 400 client errors,
-- else successful), written only when that severity is at or above
-- `log_level` (syslog numbering: lower is more severe). Kong calls syslog(3);
-- we write the same RFC 3164 datagram ("<PRI>Mmm dd hh:mm:ss kong[pid]: ...")
-- to the socket named by the node's `syslog_socket` (/dev/log), from a timer.
local json = require("kongpy.tools.log_json")
local logsend = require("kongpy.tools.logsend")
local log_entry = require("kongpy.tools.log_entry")
local settings = require("kongpy.settings")
local kong = require("kongpy.pdk")

local ngx = ngx
local udp = ngx.socket.udp
local worker_pid = ngx.worker.pid

local tostring = tostring
local os_date = os.date

local NAME = "syslog"
local SEVERITIES = {
    emerg = 0, alert = 1, crit = 2, err = 3, warning = 4, notice = 5, info = 6, debug = 7,
}
local FACILITIES = {
    kern = 0, user = 1, mail = 2, daemon = 3, auth = 4, syslog = 5, lpr = 6, news = 7,
    uucp = 8, cron = 9, authpriv = 10, ftp = 11, local0 = 16, local1 = 17, local2 = 18,
    local3 = 19, local4 = 20, local5 = 21, local6 = 22, local7 = 23,
}

local SysLogHandler = {
    PRIORITY = 4,
    VERSION = "3.9.1",
}

local function send(pri, message)
    local data, eerr = json.encode(message)
    if not data then
        return nil, "failed to encode the log entry: " .. eerr
    end
    local path = settings.syslog_socket
    local sock = udp()
    local ok, err = sock:setpeername("unix:" .. path)
    if not ok then
        return nil, "could not connect to the syslog socket " .. path .. ": " .. tostring(err)
    end
    -- glibc's syslog(3) header: "<PRI>" then the local time as "%h %e %T"
    ok, err = sock:send("<" .. pri .. ">" .. os_date("%b %e %H:%M:%S") .. " kong["
                        .. worker_pid() .. "]: " .. data)
    sock:close()
    if not ok then
        return nil, "could not send to the syslog socket " .. path .. ": " .. tostring(err)
    end
    return true
end

function SysLogHandler:log(conf)
    local status = ngx.status
    local severity
    if status >= 500 then
        severity = conf.server_errors_severity
    elseif status >= 400 then
        severity = conf.client_errors_severity
    else
        severity = conf.successful_severity
    end
    local level = SEVERITIES[severity]
    if level > SEVERITIES[conf.log_level] then
        return
    end
    log_entry.set_custom_fields(conf)
    logsend.enqueue(NAME, NAME, send, FACILITIES[conf.facility] * 8 + level,
                    kong.log.serialize())
end

return SysLogHandler
