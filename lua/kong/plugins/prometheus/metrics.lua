-- Kong 3.9's prometheus metric families: names, types, HELP texts, bucket
-- boundaries, and the text form of label values and bucket bounds.
local format = string.format
local gsub = string.gsub
local find = string.find
local max = math.max
local pairs = pairs
local ipairs = ipairs
local tostring = tostring

local _M = {}

local KONG_LATENCY_BUCKETS = { 1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000,
                               3000, 6000 }
local UPSTREAM_LATENCY_BUCKETS = { 25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000,
                                   30000, 60000 }

-- name -> { type, help[, buckets] }; every name carries Kong's "kong_" prefix
_M.FAMILIES = {
    kong_http_requests_total = { "counter",
        "HTTP status codes per consumer/service/route in Kong" },
    kong_kong_latency_ms = { "histogram",
        "Latency added by Kong and enabled plugins for each service/route in Kong",
        KONG_LATENCY_BUCKETS },
    kong_upstream_latency_ms = { "histogram",
        "Latency added by upstream response for each service/route in Kong",
        UPSTREAM_LATENCY_BUCKETS },
    kong_request_latency_ms = { "histogram",
        "Total latency incurred during requests for each service/route in Kong",
        UPSTREAM_LATENCY_BUCKETS },
    kong_bandwidth_bytes = { "counter", "Total bandwidth (ingress/egress) throughput in bytes" },
    kong_nginx_connections_total = { "gauge", "Number of connections by subsystem" },
    kong_nginx_requests_total = { "gauge", "Number of requests total" },
    kong_nginx_timers = { "gauge", "Number of nginx timers" },
    kong_datastore_reachable = { "gauge", "Datastore reachable from Kong, 0 is unreachable" },
    kong_node_info = { "gauge", "Kong Node metadata information" },
    kong_upstream_target_health = { "gauge",
        "Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy"
        .. "|dns_error, value is 1 when state is populated." },
    kong_memory_workers_lua_vms_bytes = { "gauge", "Allocated bytes in worker Lua VM" },
    kong_memory_lua_shared_dict_bytes = { "gauge", "Allocated slabs in bytes in a shared_dict" },
    kong_memory_lua_shared_dict_total_bytes = { "gauge",
        "Total capacity in bytes of a shared_dict" },
    kong_nginx_metric_errors_total = { "counter",
        "Number of nonfatal errors in the metric library" },
}

-- The bound as Kong prints it in `le`: zero-padded to one width per
-- histogram with at least one decimal ("0005.0" ... "6000.0"), so the
-- buckets sort as text in numeric order.
local function bucket_format(buckets)
    local order, precision = 1, 1
    for _, b in ipairs(buckets) do
        local text = format("%f", b)
        local dot = find(text, ".", 1, true)
        order = max(order, dot - 1)
        text = gsub(text, "0+$", "")
        precision = max(precision, #text - dot)
    end
    return "%0" .. (order + precision + 1) .. "." .. precision .. "f"
end

-- family name -> the list of `le` texts of its buckets
_M.LE = {}
for name, f in pairs(_M.FAMILIES) do
    if f[3] then
        local fmt, list = bucket_format(f[3]), {}
        for i, b in ipairs(f[3]) do
            list[i] = format(fmt, b)
        end
        _M.LE[name] = list
    end
end

local ESCAPES = { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }

-- A label value in the exposition format.
function _M.label(value)
    if value == nil then
        return ""
    end
    return (gsub(tostring(value), '[\\"\n]', ESCAPES))
end

_M.KONG_LATENCY_BUCKETS = KONG_LATENCY_BUCKETS
_M.UPSTREAM_LATENCY_BUCKETS = UPSTREAM_LATENCY_BUCKETS

return _M
