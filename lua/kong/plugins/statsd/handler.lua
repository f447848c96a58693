-- statsd (Kong 3.9): in the log phase, only a status-range check and the log
-- entry handed to the plugin instance's queue; metrics are built and sent
-- by the queue's timer (kong.plugins.statsd.log).
local Queue = require("kong.tools.queue")
local log = require("kong.plugins.statsd.log")
local constants = require("kong.plugins.statsd.constants")
local logsend = require("kongpy.tools.logsend")
local kong = require("kongpy.pdk")

local ngx = ngx
local re_match = ngx.re.match

local ipairs = ipairs
local tonumber = tonumber
local setmetatable = setmetatable

local StatsdHandler = {
    PRIORITY = 11,
    VERSION = "3.9.1",
}

-- allow_status_codes (an array of "<from>-<to>") -> status -> allowed,
-- per configuration table
local allowed_cache = setmetatable({}, { __mode = "k" })

local function allowed(codes, status)
    if not codes then
        return true
    end
    local known = allowed_cache[codes]
    if not known then
        known = {}
        allowed_cache[codes] = known
    end
    local result = known[status]
    if result == nil then
        result = false
        for _, range in ipairs(codes) do
            local m = re_match(range, constants.REGEX_SPLIT_STATUS_CODES_BY_DASH, "jo")
            if m and status >= tonumber(m[1]) and status <= tonumber(m[2]) then
                result = true
                break
            end
        end
        known[status] = result
    end
    return result
end

function StatsdHandler:log(conf)
    if not allowed(conf.allow_status_codes, ngx.status) then
        return
    end
    local ok, err = Queue.enqueue(Queue.get_plugin_params("statsd", conf), log.send_entries,
                                  conf, kong.log.serialize())
    if not ok then
        logsend.report("statsd", "statsd enqueue", "Failed to enqueue log entry to StatsD "
                       .. "server: ", err)
    end
end

return StatsdHandler
