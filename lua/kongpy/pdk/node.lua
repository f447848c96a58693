-- kong.node: this node's identity and memory.
local settings = require("kongpy.settings")
local bytes_to_str = require("kong.tools.string").bytes_to_str

local ngx = ngx
local shared = ngx.shared
local worker_count = ngx.worker.count

local io_open = io.open
local gsub = string.gsub
local lower = string.lower
local error = error
local pairs = pairs
local pcall = pcall
local floor = math.floor
local sort = table.sort

local _M = {}

local hostname

function _M.get_id()
    return settings.node_id
end

-- Read once per worker: the kernel's host name, as Kong reports it.
function _M.get_hostname()
    if not hostname then
        local f = io_open("/proc/sys/kernel/hostname", "r")
        local name = f and f:read("*l")
        if f then
            f:close()
        end
        hostname = name and gsub(name, "%s+$", "") or "localhost"
    end
    return hostname
end

-- The node's name: its host name, as Kong names nodes by default.
_M.get_name = _M.get_hostname

-- bytes as numbers ("b", the default) or Kong's "<n> KiB|MiB|GiB" strings
local function converter(unit, scale)
    if unit == nil or lower(unit) == "b" then
        return floor
    end
    local ok, err = pcall(bytes_to_str, 0, unit, scale)
    if not ok then
        error(err, 3)
    end
    return function(bytes)
        return bytes_to_str(bytes, unit, scale)
    end
end

local function by_pid(a, b)
    return a.pid < b.pid
end

-- get_memory_stats(unit, scale): the Lua VM of each worker (as each reports
-- it about every second) and every shared dict, in bytes or "<n> KiB|MiB|GiB".
function _M.get_memory_stats(unit, scale)
    local conv = converter(unit, scale)
    local dict = shared.kongpy_snapshot
    local vms = {}
    for id = 0, worker_count() - 1 do
        local pid = dict and dict:get("worker_pid:" .. id)
        if pid then
            local mem = dict:get("worker_mem:" .. id)
            vms[#vms + 1] = {
                pid = pid,
                http_allocated_gc = mem and conv(mem) or nil,
                err = not mem and "could not get worker's HTTP Lua VM memory (pid: " .. pid
                      .. "): not reported yet" or nil,
            }
        end
    end
    sort(vms, by_pid)
    local dicts = {}
    for name, d in pairs(shared) do
        local cap = d:capacity()
        dicts[name] = { capacity = conv(cap), allocated_slabs = conv(cap - d:free_space()) }
    end
    return { workers_lua_vms = vms, lua_shared_dicts = dicts }
end

-- kongpy's own: every target of every upstream this node balances over,
-- with each address's health ("HEALTHY", "UNHEALTHY", "HEALTHCHECKS_OFF");
-- a target without addresses (its name did not resolve) has none.
function _M.get_upstream_targets_health()
    return require("kongpy.health.report").all_targets()
end

-- kongpy's own: whether the node's datastore answers, as the control plane
-- last said (true, false, or nil before it did; always true when DB-less).
function _M.is_datastore_reachable()
    return require("kongpy.node_status").database_reachable()
end

return _M
