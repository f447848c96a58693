-- prometheus (Kong 3.9, PRIORITY 13): per-request samples in the log phase
-- (kong.plugins.prometheus.exporter), scraped at /metrics on the Admin API
-- and the Status API (status_api.lua). docs/metrics.md.
local kong = require("kongpy.pdk")
local counters = require("kong.plugins.prometheus.counters")
local exporter = require("kong.plugins.prometheus.exporter")
local collect = require("kong.plugins.prometheus.collect")

local ipairs = ipairs

local PrometheusHandler = {
    PRIORITY = 13,
    VERSION = "3.9.1",
}

function PrometheusHandler:init_worker()
    local ok, err = counters.init_worker()
    if not ok then
        kong.log.err("prometheus: ", err)
    end
end

-- As in Kong: kong_upstream_target_health is exported while at least one
-- enabled instance asks for it.
function PrometheusHandler:configure(configs)
    local on = false
    for _, conf in ipairs(configs or {}) do
        if conf.upstream_health_metrics then
            on = true
            break
        end
    end
    collect.upstream_health = on
end

function PrometheusHandler:log(conf)
    exporter.log(conf)
end

return PrometheusHandler
