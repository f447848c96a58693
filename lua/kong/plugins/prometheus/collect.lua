-- The scrape: the counters of the shared dict (every worker's, flushed at
-- most a second ago; this worker's flushed now) and the node's gauges, read
-- at scrape time, in the Prometheus text format with Kong's names, labels
-- and HELP texts (docs/metrics.md). Families are sorted by name and printed
-- only when they have samples, as Kong's exporter does; the samples of a
-- family are not sorted (the format does not ask for it, and sorting was
-- two thirds of a scrape's time with 10,000 routes).
local kong = require("kongpy.pdk")
local counters = require("kong.plugins.prometheus.counters")
local metrics = require("kong.plugins.prometheus.metrics")

local ngx = ngx
local shared = ngx.shared
local timer_running = ngx.timer.running_count
local timer_pending = ngx.timer.pending_count

local pairs = pairs
local ipairs = ipairs
local find = string.find
local sub = string.sub
local match = string.match
local lower = string.lower
local sort = table.sort

local FAMILIES = metrics.FAMILIES
local LE = metrics.LE
local label = metrics.label

local HEALTH_STATES = { "healthchecks_off", "healthy", "unhealthy", "dns_error" }
local CONNECTION_STATES = { { "accepted", "connections_accepted" },
                            { "handled", "connections_handled" },
                            { "total", "total_requests" },
                            { "active", "connections_active" },
                            { "reading", "connections_reading" },
                            { "writing", "connections_writing" },
                            { "waiting", "connections_waiting" } }

local _M = {
    -- whether an instance asks for kong_upstream_target_health (configure)
    upstream_health = false,
}

-- sample name -> its family (a histogram's _bucket, _sum and _count)
local FAMILY_OF = {}
for name, f in pairs(FAMILIES) do
    FAMILY_OF[name] = name
    if f[1] == "histogram" then
        FAMILY_OF[name .. "_bucket"] = name
        FAMILY_OF[name .. "_sum"] = name
        FAMILY_OF[name .. "_count"] = name
    end
end

-- dict key -> its family; for a histogram bucket also its label set and
-- `le`: parsed once per key and worker (the keys only ever grow)
local family_cache, base_cache, le_cache = {}, {}, {}
local cached = 0

local function family_of(key)
    local family = family_cache[key]
    if family == nil then
        local brace = find(key, "{", 1, true)
        family = FAMILY_OF[brace and sub(key, 1, brace - 1) or key] or false
        if family and FAMILIES[family][1] == "histogram" and find(key, "_bucket{", 1, true) then
            base_cache[key], le_cache[key] = match(key, '^(.*),le="([^"]*)"}$')
        end
        family_cache[key] = family
        cached = cached + 1
    end
    return family
end

-- family -> the pieces of its sample lines (printed as they are: no line
-- is built as a string of its own)
local function add_line(out, family, key, value)
    local p = out[family]
    if not p then
        p = {}
        out[family] = p
    end
    local n = #p
    p[n + 1], p[n + 2], p[n + 3], p[n + 4] = key, " ", value, "\n"
end

-- histograms: family -> label set -> le -> count (each bucket key holds its
-- own bucket's count; the output is cumulative)
local function add_bucket(buckets, family, key, value)
    local base = base_cache[key]
    if not base then
        return
    end
    local of = buckets[family]
    if not of then
        of = {}
        buckets[family] = of
    end
    local counts = of[base]
    if not counts then
        counts = {}
        of[base] = counts
    end
    local le = le_cache[key]
    counts[le] = (counts[le] or 0) + value
end

local function read_dict(out, buckets)
    local dict = shared[counters.DICT]
    local keys = dict:get_keys(0)
    if cached > 2 * #keys + 1000 then
        family_cache, base_cache, le_cache, cached = {}, {}, {}, 0
    end
    for i = 1, #keys do
        local key = keys[i]
        local value = dict:get(key)
        local family = value and family_of(key)
        if family then
            if base_cache[key] then
                add_bucket(buckets, family, key, value)
            else
                add_line(out, family, key, value)
            end
        end
    end
end

-- cumulative buckets, +Inf last, per label set
local function histogram_lines(out, family, of)
    local les = LE[family]
    local p = out[family]
    if not p then
        p = {}
        out[family] = p
    end
    local n = #p
    for base, counts in pairs(of) do
        local total = 0
        for i = 1, #les do
            local le = les[i]
            total = total + (counts[le] or 0)
            p[n + 1], p[n + 2], p[n + 3], p[n + 4], p[n + 5] = base, ',le="', le, '"} ', total
            p[n + 6] = "\n"
            n = n + 6
        end
        p[n + 1], p[n + 2], p[n + 3] = base, ',le="+Inf"} ', total + (counts["+Inf"] or 0)
        p[n + 4] = "\n"
        n = n + 4
    end
end

local function node_gauges(out, node_id)
    local id = 'node_id="' .. label(node_id) .. '"'
    local stats = kong.nginx.get_statistics()
    for _, s in ipairs(CONNECTION_STATES) do
        add_line(out, "kong_nginx_connections_total",
                 "kong_nginx_connections_total{" .. id .. ',subsystem="http",state="' .. s[1]
                 .. '"}', stats[s[2]])
    end
    add_line(out, "kong_nginx_requests_total",
             "kong_nginx_requests_total{" .. id .. ',subsystem="http"}', stats.total_requests)
    add_line(out, "kong_nginx_timers", 'kong_nginx_timers{state="running"}', timer_running())
    add_line(out, "kong_nginx_timers", 'kong_nginx_timers{state="pending"}', timer_pending())
    add_line(out, "kong_node_info", "kong_node_info{" .. id .. ',version="'
             .. label(kong.version) .. '"}', 1)
    local mem = kong.node.get_memory_stats()
    for _, vm in ipairs(mem.workers_lua_vms) do
        if vm.http_allocated_gc then
            add_line(out, "kong_memory_workers_lua_vms_bytes",
                     "kong_memory_workers_lua_vms_bytes{" .. id .. ',pid="' .. vm.pid
                     .. '",kong_subsystem="http"}', vm.http_allocated_gc)
        end
    end
    for name, d in pairs(mem.lua_shared_dicts) do
        local labels = "{" .. id .. ',shared_dict="' .. label(name) .. '",kong_subsystem="http"}'
        add_line(out, "kong_memory_lua_shared_dict_bytes",
                 "kong_memory_lua_shared_dict_bytes" .. labels, d.allocated_slabs)
        add_line(out, "kong_memory_lua_shared_dict_total_bytes",
                 "kong_memory_lua_shared_dict_total_bytes" .. labels, d.capacity)
    end
end

local function health_gauges(out)
    for _, t in ipairs(kong.node.get_upstream_targets_health()) do
        local prefix = 'kong_upstream_target_health{upstream="' .. label(t.upstream)
                       .. '",target="' .. label(t.target) .. '",address="'
        local addresses = t.addresses
        if #addresses == 0 then
            addresses = { { state = "dns_error" } }
        end
        for _, a in ipairs(addresses) do
            local state = a.state or lower(a.health)
            local address = a.ip and (a.ip .. ":" .. a.port) or ""
            for _, s in ipairs(HEALTH_STATES) do
                add_line(out, "kong_upstream_target_health", prefix .. label(address)
                         .. '",state="' .. s .. '",subsystem="http"}', s == state and 1 or 0)
            end
        end
    end
end

-- The exposition text, as nested arrays for ngx.print. `db_reachable`:
-- true, false or nil (not known yet).
function _M.pieces(db_reachable)
    counters.flush()
    local out, buckets = {}, {}
    read_dict(out, buckets)
    for family, of in pairs(buckets) do
        histogram_lines(out, family, of)
    end
    if not out.kong_nginx_metric_errors_total then
        add_line(out, "kong_nginx_metric_errors_total", "kong_nginx_metric_errors_total", 0)
    end
    node_gauges(out, kong.node.get_id())
    add_line(out, "kong_datastore_reachable", "kong_datastore_reachable",
             db_reachable and 1 or 0)
    if _M.upstream_health then
        health_gauges(out)
    end
    local names = {}
    for family in pairs(out) do
        names[#names + 1] = family
    end
    sort(names)
    -- nested arrays of strings and numbers, as ngx.print takes them
    local parts = {}
    for i, family in ipairs(names) do
        local f = FAMILIES[family]
        parts[i] = { "# HELP ", family, " ", f[2], "\n# TYPE ", family, " ", f[1], "\n",
                     out[family] }
    end
    return parts
end

return _M
