-- statsd (Kong 3.9): one connection to the StatsD server per batch of log
-- entries. Lines are "<prefix>.<stat>:<value>|<type>[|@<rate>]", with tags
-- in the place each tag_style puts them. Over UDP, lines are packed into
-- datagrams of at most udp_packet_size bytes ("\n"-separated; 0 = one line
-- per datagram); over TCP each line ends with "\n".
local logsend = require("kongpy.tools.logsend")

local ngx = ngx
local udp = ngx.socket.udp
local tcp = ngx.socket.tcp
local log = ngx.log
local WARN = ngx.WARN

local setmetatable = setmetatable
local tostring = tostring
local ipairs = ipairs
local concat = table.concat

local TCP_TIMEOUT = 1000

local _M = {
    STAT_TYPES = { gauge = "g", counter = "c", timer = "ms", histogram = "h", meter = "m",
                   set = "s" },
}
local mt = { __index = _M }

-- tags: an array of { name, value }, written in that order
local function tag_list(tags, sep)
    local parts = {}
    for i, tag in ipairs(tags) do
        parts[i] = tag[1] .. sep .. tostring(tag[2])
    end
    return concat(parts, ",")
end

local function line(prefix, stat, value, kind, rate, tags, style)
    local suffix = (rate and rate ~= 1) and ("|@" .. rate) or ""
    local name = prefix .. "." .. stat
    if not style or not tags then
        return name .. ":" .. value .. "|" .. kind .. suffix
    elseif style == "dogstatsd" then
        return name .. ":" .. value .. "|" .. kind .. suffix .. "|#" .. tag_list(tags, ":")
    elseif style == "influxdb" then
        return name .. "," .. tag_list(tags, "=") .. ":" .. value .. "|" .. kind .. suffix
    elseif style == "librato" then
        return name .. "#" .. tag_list(tags, "=") .. ":" .. value .. "|" .. kind .. suffix
    end
    -- signalfx
    return name .. "[" .. tag_list(tags, "=") .. "]:" .. value .. "|" .. kind .. suffix
end
_M.line = line

function _M.new(conf, prefix)
    local sock, ok, err
    if conf.use_tcp then
        sock = tcp()
        sock:settimeout(TCP_TIMEOUT)
        ok, err = sock:connect(conf.host, conf.port)
    else
        sock = udp()
        ok, err = sock:setpeername(conf.host, conf.port)
    end
    if not ok then
        return nil, "failed to connect to " .. conf.host .. ":" .. tostring(conf.port) .. ": "
                    .. tostring(err)
    end
    return setmetatable({
        sock = sock, conf = conf, prefix = prefix, style = conf.tag_style,
        key = "statsd " .. conf.host .. ":" .. conf.port,
        packet_size = (not conf.use_tcp) and conf.udp_packet_size or 0,
        buffer = {}, buffered = 0, size = 0,
    }, mt)
end

function _M:write(data)
    local ok, err = self.sock:send(data)
    if not ok then
        logsend.report("statsd", self.key, "failed to send data to ", self.conf.host, ":",
                       tostring(self.conf.port), ": ", tostring(err))
    end
end

function _M:flush()
    if self.buffered > 0 then
        self:write(concat(self.buffer, "\n", 1, self.buffered))
        self.buffered, self.size = 0, 0
    end
end

function _M:send(stat, value, kind, rate, tags)
    local msg = line(self.prefix, stat, value, kind, rate, tags, self.style)
    if self.conf.use_tcp then
        return self:write(msg .. "\n")
    end
    local limit = self.packet_size
    if limit <= 0 then
        return self:write(msg)
    end
    if #msg > limit then
        log(WARN, "[statsd] configured udp_packet_size is smaller than single message of length ",
            #msg, ", UDP packet may be truncated")
    end
    local n = self.buffered
    if n > 0 and self.size + 1 + #msg > limit then
        self:flush()
        n = 0
    end
    self.buffer[n + 1] = msg
    self.buffered = n + 1
    self.size = (n > 0 and self.size + 1 or 0) + #msg
end

function _M:close()
    self:flush()
    if self.conf.use_tcp then
        self.sock:setkeepalive()
    else
        self.sock:close()
    end
end

return _M
