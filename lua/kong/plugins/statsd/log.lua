-- statsd (Kong 3.9): turning log entries into metrics. Without tag_style a
-- metric's name carries its scope: "<prefix>.service.<service, dots as
-- '_'>.<stat>" ("global.unmatched" when no service was matched, which gets
-- neither upstream_latency nor the per-consumer, per-workspace and per-route
-- metrics), "user.<id>", "workspace.<id>", "route.<id>.user.<id>" parts.
-- With tag_style the name is "<prefix>.<stat>" (hostname_in_prefix does not
-- apply) and the scope goes in tags; only the six plain stats and the shared
-- dict usage are sent.
local statsd_logger = require("kong.plugins.statsd.statsd_logger")
local kong = require("kongpy.pdk")

local ngx = ngx
local null = ngx.null
local worker_id = ngx.worker.id
local time = ngx.time

local gsub = string.gsub
local pairs = pairs
local ipairs = ipairs

local SHDICT_INTERVAL = 60
local STAT_NAMES = {
    request_count = "request.count", request_size = "request.size",
    response_size = "response.size", latency = "latency",
    upstream_latency = "upstream_latency", kong_latency = "kong_latency",
}
local STAT_TYPES = statsd_logger.STAT_TYPES

local _M = {}

local hostname
local function get_hostname()
    if not hostname then
        hostname = gsub(kong.node.get_hostname(), "%.", "_")
    end
    return hostname
end

local function value(v)
    return v ~= nil and v ~= null and v or nil
end

local CONSUMER_IDS = {
    consumer_id = function(c) return c and value(c.id) end,
    custom_id = function(c) return c and value(c.custom_id) end,
    username = function(c) return c and value(c.username) end,
}
local SERVICE_IDS = {
    service_id = function(s) return s and value(s.id) end,
    service_name = function(s) return s and value(s.name) end,
    service_host = function(s) return s and value(s.host) end,
    service_name_or_host = function(s) return s and (value(s.name) or value(s.host)) end,
}

-- the workspace is known once a route matched (Kong sets it when routing)
local function workspace_of(message, identifier)
    if not message.route then
        return nil
    end
    if identifier == "workspace_name" then
        return message.workspace_name
    end
    return message.workspace
end

local function stat_value(name, message)
    if name == "request_count" then
        return 1
    elseif name == "request_size" then
        return message.request.size
    elseif name == "response_size" then
        return message.response.size
    elseif name == "latency" then
        return message.latencies.request
    elseif name == "upstream_latency" then
        return message.latencies.proxy
    elseif name == "kong_latency" then
        return message.latencies.kong
    end
end

local shdict_last_sent = 0

-- Only worker 0 reports the shared dicts (they are shared), once a minute.
local function shdict_usage(logger, metric, tagged)
    if worker_id() ~= 0 or time() < shdict_last_sent + SHDICT_INTERVAL then
        return
    end
    shdict_last_sent = time()
    local host = get_hostname()
    for name, dict in pairs(ngx.shared) do
        if tagged then
            local tags = { { "node", host }, { "shdict", name } }
            logger:send("shdict.free_space", dict:free_space(), "g", metric.sample_rate, tags)
            logger:send("shdict.capacity", dict:capacity(), "g", metric.sample_rate, tags)
        else
            local base = "node." .. host .. ".shdict." .. name
            logger:send(base .. ".free_space", dict:free_space(), "g", metric.sample_rate)
            logger:send(base .. ".capacity", dict:capacity(), "g", metric.sample_rate)
        end
    end
end

local function identifiers(conf, metric, message)
    local consumer = CONSUMER_IDS[metric.consumer_identifier
                                  or conf.consumer_identifier_default](message.consumer)
    local service = SERVICE_IDS[metric.service_identifier
                                or conf.service_identifier_default](message.service)
    local workspace = workspace_of(message, metric.workspace_identifier
                                            or conf.workspace_identifier_default)
    return consumer, service, workspace
end

local function send_tagged(logger, conf, metric, message)
    local name = metric.name
    if name == "shdict_usage" then
        return shdict_usage(logger, metric, true)
    end
    local v = stat_value(name, message)
    if v == nil or v == -1 then
        return
    end
    local consumer, service, workspace = identifiers(conf, metric, message)
    local route = message.route
    local tags = {}
    if service then
        tags[#tags + 1] = { "service", service }
    end
    if route then
        tags[#tags + 1] = { "route", value(route.name) or route.id }
    end
    if workspace then
        tags[#tags + 1] = { "workspace", workspace }
    end
    if consumer then
        tags[#tags + 1] = { "consumer", consumer }
    end
    tags[#tags + 1] = { "status", message.response.status }
    logger:send(STAT_NAMES[name], v, STAT_TYPES[metric.stat_type], metric.sample_rate, tags)
end

local function send_scoped(logger, conf, metric, message)
    local name = metric.name
    if name == "shdict_usage" then
        return shdict_usage(logger, metric, false)
    end
    local consumer, service, workspace = identifiers(conf, metric, message)
    local scope
    if message.service then
        scope = "service." .. (service and gsub(service, "%.", "_") or "unnamed")
    else
        scope = "global.unmatched"
        consumer, workspace = nil, nil
    end
    local status = message.response.status
    local rate = metric.sample_rate
    if name == "status_count" then
        logger:send(scope .. ".status." .. status, 1, "c", rate)
    elseif name == "unique_users" then
        if consumer then
            logger:send(scope .. ".user.uniques", consumer, "s")
        end
    elseif name == "request_per_user" then
        if consumer then
            logger:send(scope .. ".user." .. consumer .. ".request.count", 1, "c", rate)
        end
    elseif name == "status_count_per_user" then
        if consumer then
            logger:send(scope .. ".user." .. consumer .. ".status." .. status, 1, "c", rate)
        end
    elseif name == "status_count_per_workspace" then
        if workspace then
            logger:send(scope .. ".workspace." .. workspace .. ".status." .. status, 1, "c", rate)
        end
    elseif name == "status_count_per_user_per_route" then
        local route = message.route
        if consumer and route and route.id then
            logger:send("route." .. route.id .. ".user." .. consumer .. ".status." .. status,
                        1, "c", rate)
        end
    else
        local v = stat_value(name, message)
        if v ~= nil and v ~= -1 then
            logger:send(scope .. "." .. STAT_NAMES[name], v, STAT_TYPES[metric.stat_type], rate)
        end
    end
end

-- The queue's handler: every metric of every entry over one connection.
function _M.send_entries(conf, messages)
    local prefix = conf.prefix
    if conf.hostname_in_prefix and not conf.tag_style then
        prefix = prefix .. ".node." .. get_hostname()
    end
    local logger, err = statsd_logger.new(conf, prefix)
    if not logger then
        return nil, err
    end
    local send = conf.tag_style and send_tagged or send_scoped
    for _, message in ipairs(messages) do
        for _, metric in ipairs(conf.metrics) do
            send(logger, conf, metric, message)
        end
    end
    logger:close()
    return true
end

return _M
