-- The configuration snapshot: validation, storage in the kongpy_config shared
-- dict, and the per-worker rebuild when another worker applied a new one.
local cjson = require("cjson.safe")
local router = require("kongpy.router")
local build = require("kongpy.router_build")
local plugins_iterator = require("kongpy.plugins_iterator")

local ngx = ngx
local log = ngx.log
local ERR = ngx.ERR
local INFO = ngx.INFO
local timer_every = ngx.timer.every
local worker_id = ngx.worker.id
local worker_pid = ngx.worker.pid
local null = ngx.null

local type = type
local ipairs = ipairs
local tostring = tostring
local io_open = io.open
local floor = math.floor
local find = string.find
local match = string.match
local sub = string.sub
local collectgarbage = collectgarbage

local SNAPSHOT_FORMAT = 1
local SYNC_INTERVAL = 0.1
local MEM_EVERY = 10

local ERR_JSON = "invalid JSON: "
local ERR_FORMAT = "unsupported snapshot_format: "
local ERR_SHAPE = "snapshot must be a JSON object"

local _M = {
    -- the configuration this worker serves
    state = { version = nil, hash = nil, router = nil, generation = 0 },
}

local dict = ngx.shared.kongpy_config

local function is_int(v)
    return type(v) == "number" and v == floor(v)
end

local function is_ip(host)
    if match(host, "^%d+%.%d+%.%d+%.%d+$") then
        return host
    end
    if find(host, ":", 1, true) then
        if sub(host, 1, 1) == "[" then return sub(host, 2, -2) end
        return host
    end
end

local function compile_service(s)
    if type(s) ~= "table" or type(s.id) ~= "string" then
        return nil, "services must be objects with an id"
    end
    if type(s.host) ~= "string" or not is_int(s.port) then
        return nil, "service " .. s.id .. ": host and port are required"
    end
    local protocol = type(s.protocol) == "string" and s.protocol or "http"
    local scheme = (protocol == "https" or protocol == "grpcs") and "https" or "http"
    local default_port = scheme == "https" and 443 or 80
    local ip = is_ip(s.host)
    local host = ip and find(ip, ":", 1, true) and "[" .. ip .. "]" or s.host
    local function ms(v)
        return (is_int(v) and v > 0 and v or 60000) / 1000
    end
    return {
        raw = s,
        id = s.id,
        scheme = scheme,
        host = s.host,
        ip = ip,
        port = s.port,
        path = type(s.path) == "string" and s.path or "/",
        retries = is_int(s.retries) and s.retries or 5,
        connect_timeout = ms(s.connect_timeout),
        write_timeout = ms(s.write_timeout),
        read_timeout = ms(s.read_timeout),
        host_header = s.port == default_port and host or host .. ":" .. s.port,
        ssl_name = host,
    }
end

-- Decodes, validates and compiles a snapshot; returns a new state or nil, err.
function _M.build(blob)
    local snap, err = cjson.decode(blob)
    if snap == nil then
        return nil, ERR_JSON .. tostring(err)
    end
    if type(snap) ~= "table" then
        return nil, ERR_SHAPE
    end
    if snap.snapshot_format ~= SNAPSHOT_FORMAT then
        return nil, ERR_FORMAT .. tostring(snap.snapshot_format)
    end
    if not is_int(snap.version) then
        return nil, "version must be an integer"
    end
    if snap.hash ~= nil and snap.hash ~= null and type(snap.hash) ~= "string" then
        return nil, "hash must be a string"
    end
    local services, routes = snap.services or {}, snap.routes or {}
    if type(services) ~= "table" or type(routes) ~= "table" then
        return nil, "services and routes must be arrays"
    end
    local by_id, disabled = {}, {}
    for _, s in ipairs(services) do
        local svc, serr = compile_service(s)
        if not svc then
            return nil, serr
        end
        if s.enabled == false then
            disabled[s.id] = true
        else
            by_id[s.id] = svc
        end
    end
    local rt, rerr = router.new(routes, by_id, disabled)
    if not rt then
        return nil, rerr
    end
    local ps, perr = plugins_iterator.build(snap)
    if not ps then
        return nil, perr
    end
    return {
        version = snap.version,
        hash = build.is_set(snap.hash) and snap.hash or nil,
        router = rt,
        plugins = ps,
        generation = 0,
    }
end

local function report()
    local id = worker_id()
    if id then
        dict:set("worker_version:" .. id, _M.state.version or -1)
        dict:set("worker_pid:" .. id, worker_pid())
    end
end

-- Stores a validated snapshot for all workers. The blob is written before the
-- generation moves, so a worker that sees the new generation reads the new
-- blob (or a later one, which it will also apply).
local function store(blob, state)
    local ok, err = dict:set("snapshot", blob)
    if not ok then
        return nil, "cannot store snapshot: " .. tostring(err)
    end
    dict:set("version", state.version)
    dict:set("hash", state.hash or "")
    state.generation = dict:incr("generation", 1, 0)
    return true
end

function _M.init(snapshot_path)
    if not snapshot_path then
        return
    end
    local f = io_open(snapshot_path, "rb")
    if not f then
        return
    end
    local blob = f:read("*a")
    f:close()
    local state, err = _M.build(blob)
    if not state then
        log(ERR, "ignoring stored snapshot ", snapshot_path, ": ", err)
        return
    end
    local ok, serr = store(blob, state)
    if not ok then
        log(ERR, serr)
        return
    end
    _M.state = state
end

local function sync()
    local gen = dict:get("generation")
    if not gen or gen == _M.state.generation then
        return
    end
    local blob = dict:get("snapshot")
    local state, err = _M.build(blob or "")
    if not state then
        -- only validated snapshots reach the dict; this is a bug, not input
        log(ERR, "cannot rebuild stored snapshot: ", err)
        _M.state.generation = gen
        return
    end
    state.generation = gen
    _M.state = state
    report()
end

local ticks = 0
local function tick(premature)
    if premature then
        return
    end
    sync()
    ticks = ticks + 1
    if ticks % MEM_EVERY == 1 then
        dict:set("worker_mem:" .. worker_id(), floor(collectgarbage("count") * 1024))
    end
end

function _M.init_worker()
    sync()
    report()
    local ok, err = timer_every(SYNC_INTERVAL, tick)
    if not ok then
        log(ERR, "cannot start the config sync timer: ", err)
    end
end

-- POST /config: returns status, table body.
-- The control plane keeps the snapshot file: workers may not write the prefix.
function _M.push(blob)
    local state, err = _M.build(blob)
    if not state then
        return 400, { message = "invalid snapshot: " .. err }
    end
    local cur_version, cur_hash = dict:get("version"), dict:get("hash")
    -- the shared dict is the node's truth; a worker still behind catches up
    -- from its timer
    if cur_version == state.version and cur_hash == (state.hash or "") then
        return 200, { version = state.version }
    end
    local ok, serr = store(blob, state)
    if not ok then
        return 400, { message = "invalid snapshot: " .. serr }
    end
    _M.state = state
    report()
    log(INFO, "applied configuration version ", state.version)
    return 201, { version = state.version }
end

return _M
