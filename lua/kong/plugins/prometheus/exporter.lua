-- The log phase of the prometheus plugin: one request's samples added to
-- this worker's pending deltas (kong.plugins.prometheus.counters). The keys
-- (a sample's name and labels, as the scrape prints them) are built once per
-- route, service, consumer and status, and kept as long as those rows.
local kong = require("kongpy.pdk")
local counters = require("kong.plugins.prometheus.counters")
local metrics = require("kong.plugins.prometheus.metrics")
local buckets = require("kong.plugins.prometheus.buckets")

local ngx = ngx
local var = ngx.var

local tonumber = tonumber
local setmetatable = setmetatable

local get_route = kong.router.get_route
local get_service = kong.router.get_service
local get_consumer = kong.client.get_consumer
local get_status = kong.response.get_status
local get_source = kong.response.get_source
local latencies = kong.log.latencies
local label = metrics.label
local LE = metrics.LE
local bucket = buckets.index

-- kongpy has one workspace, Kong's default one
local WORKSPACE = "default"
local NO_SERVICE = {}

local pending = counters.pending

local _M = {}

-- route row -> service row (or NO_SERVICE) -> the keys of that pair; weak
-- keys: a new configuration's rows get new entries, old ones are collected
local by_route = setmetatable({}, { __mode = "k" })

local function histogram(name, labels)
    local le, keys = LE[name], {}
    local prefix = name .. "_bucket{" .. labels .. ',le="'
    for i = 1, #le do
        keys[i] = prefix .. le[i] .. '"}'
    end
    keys[#le + 1] = prefix .. '+Inf"}'
    local bounds = metrics.FAMILIES[name][3]
    return {
        bounds = bounds,
        lut = buckets.lut(bounds),
        keys = keys,
        sum = name .. "_sum{" .. labels .. "}",
        count = name .. "_count{" .. labels .. "}",
    }
end

local function entry_of(route, service)
    local services = by_route[route]
    if not services then
        services = setmetatable({}, { __mode = "k" })
        by_route[route] = services
    end
    local e = services[service]
    if not e then
        local svc = service ~= NO_SERVICE and (service.name or service.host) or ""
        local sr = 'service="' .. label(svc) .. '",route="' .. label(route.name or route.id)
                   .. '"'
        e = {
            sr = sr,
            ws = 'workspace="' .. WORKSPACE .. '"',
            status = {},      -- consumer -> code * 2 + (kong and 1 or 0) -> key
            bandwidth = {},   -- consumer -> { ingress key, egress key }
            latency = nil,    -- the three histograms, once latency_metrics needs them
        }
        services[service] = e
    end
    return e
end

local function inc(key, v)
    pending[key] = (pending[key] or 0) + v
end

local function observe(h, v)
    inc(h.keys[bucket(h.bounds, h.lut, v)], 1)
    inc(h.sum, v)
    inc(h.count, 1)
end

local function latency_of(e)
    local h = e.latency
    if not h then
        local labels = e.sr .. "," .. e.ws
        h = { kong = histogram("kong_kong_latency_ms", labels),
              upstream = histogram("kong_upstream_latency_ms", labels),
              request = histogram("kong_request_latency_ms", labels) }
        e.latency = h
    end
    return h
end

local function status_key(e, consumer, code, kong_source)
    local keys = e.status[consumer]
    if not keys then
        keys = {}
        e.status[consumer] = keys
    end
    local slot = code * 2 + (kong_source and 1 or 0)
    local key = keys[slot]
    if not key then
        key = "kong_http_requests_total{" .. e.sr .. ',code="' .. code .. '",source="'
              .. (kong_source and "kong" or "service") .. '",' .. e.ws .. ',consumer="'
              .. label(consumer) .. '"}'
        keys[slot] = key
    end
    return key
end

local function bandwidth_keys(e, consumer)
    local keys = e.bandwidth[consumer]
    if not keys then
        local tail = '",' .. e.ws .. ',consumer="' .. label(consumer) .. '"}'
        keys = { "kong_bandwidth_bytes{" .. e.sr .. ',direction="ingress' .. tail,
                 "kong_bandwidth_bytes{" .. e.sr .. ',direction="egress' .. tail }
        e.bandwidth[consumer] = keys
    end
    return keys
end

-- Kong counts only requests that matched a route.
function _M.log(conf)
    local route = get_route()
    if not route then
        return
    end
    local e = entry_of(route, get_service() or NO_SERVICE)
    local consumer = ""
    if conf.per_consumer then
        local c = get_consumer()
        consumer = c and c.username or ""
    end
    if conf.status_code_metrics then
        inc(status_key(e, consumer, get_status(), get_source() ~= "service"), 1)
    end
    if conf.bandwidth_metrics then
        local keys = bandwidth_keys(e, consumer)
        local ingress = tonumber(var.request_length)
        if ingress and ingress > 0 then
            inc(keys[1], ingress)
        end
        local egress = tonumber(var.bytes_sent)
        if egress and egress > 0 then
            inc(keys[2], egress)
        end
    end
    if conf.latency_metrics then
        local h = latency_of(e)
        local kong_ms, proxy_ms, request_ms = latencies()
        if request_ms >= 0 then
            observe(h.request, request_ms)
        end
        if proxy_ms >= 0 then
            observe(h.upstream, proxy_ms)
        end
        if kong_ms >= 0 then
            observe(h.kong, kong_ms)
        end
    end
end

return _M
