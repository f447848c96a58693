-- The control socket (unix:<prefix>/sockets/control.sock): snapshot and delta pushes,
-- applied versions per worker, node status, and the queue of credential re-hashes.
-- The socket's folder is owner-only, and every request must also carry the
-- node's per-start secret (read from a 0600 file at init): without it nothing
-- here answers.
local cjson = require("cjson.safe")
local process = require("ngx.process")
local snapshot = require("kongpy.snapshot")
local rehash = require("kongpy.rehash")
local cluster_events = require("kongpy.pdk.cluster_events")
local counters = require("kongpy.tools.ratelimit.cluster")
local body_reader = require("kongpy.pdk.body")
local health = require("kongpy.health")
local health_report = require("kongpy.health.report")
local secrets = require("kongpy.secrets")
local node_status = require("kongpy.node_status")
local status_api = require("kongpy.status")
local control_cache = require("kongpy.control_cache")

local ngx = ngx
local var = ngx.var
local say = ngx.say
local exit = ngx.exit
local header = ngx.header
local capture = ngx.location.capture
local worker_count = ngx.worker.count
local timer_running = ngx.timer.running_count
local timer_pending = ngx.timer.pending_count
local null = ngx.null

local io_open = io.open
local pairs = pairs
local tonumber = tonumber
local type = type
local tostring = tostring
local match = string.match
local jit_version = jit.version

local ERR_NO_BODY = "invalid snapshot: empty body"
local ERR_NO_DELTA = "invalid delta: empty body"
local ERR_NO_SECRETS = "invalid secrets: empty body"
local ERR_NOT_FOUND = "Not found"
local ERR_AUTH = "Unauthorized"

local _M = {}

-- "Bearer <secret>", or false when the secret could not be read (everything refused)
local expected_auth = false

function _M.init(token_file)
    expected_auth = false
    local f = token_file and io_open(token_file, "rb")
    if not f then
        return nil, "cannot read the control token file " .. tostring(token_file)
    end
    local token = match(f:read("*a") or "", "^%s*(%x+)%s*$")
    f:close()
    if not token then
        return nil, "empty control token file " .. token_file
    end
    expected_auth = "Bearer " .. token
    return true
end

local function respond_json(status, text)
    ngx.status = status
    header["Content-Type"] = "application/json; charset=utf-8"
    say(text)
    return exit(status)
end

local function respond(status, body)
    return respond_json(status, cjson.encode(body))
end

-- The request body, from memory or the temp file nginx spooled it to.
local read_body = body_reader.read

-- A POST whose body `apply` turns into (status, answer).
local function post(apply, err_empty)
    local body = read_body()
    if not body or body == "" then
        return respond(400, { message = err_empty })
    end
    local status, res = apply(body)
    return respond(status, res)
end

local function post_snapshot()
    return post(snapshot.push, ERR_NO_BODY)
end

local function post_delta()
    return post(snapshot.push_delta, ERR_NO_DELTA)
end

-- The resolved vault references: stored, then every worker rebuilds with them.
local function post_secrets()
    return post(function(body)
        local status, res, changed = secrets.push(body)
        if changed then
            snapshot.rebuild()
        end
        return status, res
    end, ERR_NO_SECRETS)
end

local function get_snapshot()
    local dict = ngx.shared.kongpy_snapshot
    local workers = {}
    for id = 0, worker_count() - 1 do
        local v = dict:get("worker_version:" .. id)
        workers[#workers + 1] = {
            id = id,
            pid = dict:get("worker_pid:" .. id) or null,
            version = (v and v >= 0) and v or null,
        }
    end
    local hash = dict:get("hash")
    return respond(200, {
        version = dict:get("version") or null,
        hash = (hash and hash ~= "") and hash or null,
        workers = workers,
        rehash_queued = rehash.count(),
        counters_queued = counters.queued(),
        cluster_events_queued = cluster_events.count(),
        secrets_id = secrets.id() or null,
        node = node_status.facts(),
    })
end

-- Answers the queued re-hashes and removes them: the control plane writes
-- each one at most once, a lost one is queued again by a later login.
local function take_rehash()
    return respond_json(200, '{"rehash":' .. rehash.take(rehash.MAX_QUEUED) .. "}")
end

-- The `cluster` rate-limiting counters: taken by the sync loop, stored in the
-- datastore, and their totals handed back (kongpy.tools.ratelimit.cluster).
local function take_counters()
    return respond_json(200, '{"counters":' .. counters.take() .. "}")
end

local function settle_counters()
    local body = read_body()
    local ok, err = counters.settle(body and cjson.decode(body))
    if not ok then
        return respond(400, { message = "invalid totals: " .. err })
    end
    return respond(200, { counters_queued = counters.queued() })
end

-- kong.cluster_events: the broadcasts of this node's plugins, taken by the
-- sync loop for the datastore; and the other nodes' ones, delivered here.
local function take_cluster_events()
    return respond_json(200, '{"events":'
                             .. cluster_events.take(cluster_events.MAX_QUEUED) .. "}")
end

local function deliver_cluster_events()
    local body = read_body()
    local doc = body and cjson.decode(body)
    if type(doc) ~= "table" or type(doc.events) ~= "table" then
        return respond(400, { message = "invalid events: expected {\"events\": [...]}" })
    end
    local n, err = cluster_events.deliver(doc.events)
    if not n then
        return respond(500, { message = "cannot deliver events: " .. tostring(err) })
    end
    return respond(200, { delivered = n })
end

-- Upstream health (docs/contracts.md §6): the node's view of one upstream,
-- and manual overrides (Kong's post_health).
local function get_upstream_health()
    health.keep()
    local row = health.upstream(var.arg_id)
    if not row then
        return respond(404, { message = ERR_NOT_FOUND })
    end
    return respond(200, health_report.upstream(row))
end

local function str_or_nil(v)
    if v == nil or v == null then
        return nil
    end
    return type(v) == "string" and v ~= "" and v or false
end

local function post_upstream_health()
    local body = read_body()
    local doc = body and cjson.decode(body)
    if type(doc) ~= "table" or type(doc.upstream) ~= "string" or type(doc.host) ~= "string"
            or type(doc.port) ~= "number"
            or type(doc.healthy) ~= "boolean" then
        return respond(400, { message = "invalid health override: expected {upstream, host, "
                                        .. "port, ip, ip_port, healthy}" })
    end
    local ip = str_or_nil(doc.ip)
    if ip == false then
        return respond(400, { message = "invalid health override: ip must be a string" })
    end
    local ip_port = tonumber(doc.ip_port ~= null and doc.ip_port or nil)
    local ok, err = health.set_manual(doc.upstream, doc.host, doc.port, ip, ip_port,
                                      doc.healthy)
    if not ok then
        return respond(400, { message = err })
    end
    return respond_json(200, "{}")
end

local function server_status()
    local res = capture("/nginx_status")
    local out = {
        connections_active = tonumber(var.connections_active) or 0,
        connections_reading = tonumber(var.connections_reading) or 0,
        connections_writing = tonumber(var.connections_writing) or 0,
        connections_waiting = tonumber(var.connections_waiting) or 0,
        connections_accepted = 0,
        connections_handled = 0,
        total_requests = 0,
    }
    if res and res.status == 200 then
        local a, h, t = match(res.body, "\n%s*(%d+)%s+(%d+)%s+(%d+)")
        out.connections_accepted = tonumber(a) or 0
        out.connections_handled = tonumber(h) or 0
        out.total_requests = tonumber(t) or 0
    end
    return out
end

local function get_status()
    local dict = ngx.shared.kongpy_snapshot
    local vms, pids = {}, {}
    for id = 0, worker_count() - 1 do
        local pid = dict:get("worker_pid:" .. id)
        if pid then
            pids[#pids + 1] = pid
            vms[#vms + 1] = {
                pid = pid,
                http_allocated_gc = dict:get("worker_mem:" .. id) or 0,
            }
        end
    end
    local dicts = {}
    for name, d in pairs(ngx.shared) do
        local cap = d:capacity()
        dicts[name] = { capacity = cap, allocated_slabs = cap - d:free_space() }
    end
    return respond(200, {
        server = server_status(),
        memory = { workers_lua_vms = vms, lua_shared_dicts = dicts },
        pids = { master = process.get_master_pid() or null, workers = pids },
        lua_version = jit_version,
        -- as Kong's GET / reports them: those of the worker that answers
        timers = { running = timer_running(), pending = timer_pending() },
    })
end

-- proxy-cache's entries, for the Admin API's /proxy-cache endpoints
local function proxy_cache(op)
    return function()
        local purge = require("kong.plugins.proxy-cache.purge")
        return respond(purge.control(op, read_body()))
    end
end

-- What the control plane knows of the node (kongpy.node_status).
local function post_node()
    local body = read_body()
    local ok, err = node_status.push(body and cjson.decode(body))
    if not ok then
        return respond(400, { message = "invalid node facts: " .. err })
    end
    return respond(200, node_status.facts())
end

local ROUTES = {
    ["/snapshot"] = { GET = get_snapshot, POST = post_snapshot },
    ["/snapshot/delta"] = { POST = post_delta },
    ["/secrets"] = { POST = post_secrets },
    ["/status"] = { GET = get_status },
    ["/rehash"] = { POST = take_rehash },
    ["/counters"] = { POST = take_counters },
    ["/counters/totals"] = { POST = settle_counters },
    ["/cluster-events"] = { POST = deliver_cluster_events },
    ["/cluster-events/take"] = { POST = take_cluster_events },
    ["/upstreams/health"] = { GET = get_upstream_health, POST = post_upstream_health },
    ["/proxy-cache/flush"] = { POST = proxy_cache("flush") },
    ["/proxy-cache/fetch"] = { POST = proxy_cache("fetch") },
    ["/proxy-cache/delete"] = { POST = proxy_cache("delete") },
    -- kong.cache, for the Admin API's /cache endpoints
    ["/cache/probe"] = { POST = function() return respond(control_cache.probe(read_body())) end },
    ["/cache/invalidate"] = {
        POST = function() return respond(control_cache.invalidate(read_body())) end,
    },
    ["/cache/purge"] = { POST = function() return respond(control_cache.purge()) end },
    ["/node"] = { POST = post_node },
}

-- The enabled plugins' status_api.lua routes, for the Admin API
-- (/plugin-status/metrics is the prometheus plugin's GET /metrics).
local PLUGIN_PREFIX = "^/plugin%-status(/.*)$"

local function plugin_route(uri)
    local path = match(uri, PLUGIN_PREFIX)
    if not path then
        return respond(404, { message = ERR_NOT_FOUND })
    end
    return status_api.serve_plugin_or_404(path)
end

function _M.serve()
    if not expected_auth or var.http_authorization ~= expected_auth then
        return respond(401, { message = ERR_AUTH })
    end
    return status_api.dispatch(ROUTES, var.uri, plugin_route)
end

return _M
