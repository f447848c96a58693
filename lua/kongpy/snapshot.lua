-- The configuration of the node: full snapshots and deltas pushed over the
-- control socket, shared with every worker through the kongpy_snapshot dict,
-- and applied by each worker to its own kongpy.state.
--
-- The dict holds one full snapshot (`snapshot`) and the chain of deltas after
-- it: `chain` lists the full snapshot's version then each delta's version,
-- and `delta:<version>` holds that delta's body. The full snapshot plus the
-- chain always reconstruct the node's `version`. `epoch` moves whenever a full
-- snapshot replaces the content (not when it only compacts the chain), so a
-- worker of the current epoch may follow the chain from its own version; any
-- other worker (fresh, or behind a compaction) loads the full snapshot first.
local cjson = require("cjson.safe")
local state = require("kongpy.state")
local runner = require("kongpy.runner")
local store = require("kongpy.pdk.store")
local pieces_of = require("kongpy.snapshot_pieces")

local ngx = ngx
local log = ngx.log
local ERR = ngx.ERR
local INFO = ngx.INFO
local timer_every = ngx.timer.every
local worker_id = ngx.worker.id
local worker_pid = ngx.worker.pid
local worker_exiting = ngx.worker.exiting
local null = ngx.null

local type = type
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local io_open = io.open
local floor = math.floor
local byte = string.byte
local find = string.find
local sub = string.sub
local gmatch = string.gmatch
local collectgarbage = collectgarbage

-- Declared once here and once in kongpy/sync/snapshot.py; bump both together.
local SNAPSHOT_FORMAT = 3
-- how often a worker looks for a new version: a change pushed to one worker
-- reaches the others within this (a dict read per tick, nothing more)
local SYNC_INTERVAL = 0.02
-- ticks between two reports of the worker's Lua memory (about 1 s)
local MEM_EVERY = 50
-- ticks a worker may fail to follow the stored chain before it says so
-- (about 1 s: a push being stored explains a few ticks, never that many)
local BEHIND_TICKS = 50
-- deltas kept after a full snapshot; the control plane compacts long before
local MAX_CHAIN = 1000
local LBRACE = byte("{")

local ERR_JSON = "invalid JSON: "
local ERR_FRAME = "expected a header line, then the body"
local ERR_FORMAT = "unsupported snapshot_format: "
local ERR_SHAPE = "header and body must be JSON objects"
local ERR_DELTA = "delta header must hold integer base_version < version"
local ERR_BASE = "base version mismatch"
local ERR_CHAIN = "too many deltas since the last full snapshot"
-- bytes decoded by a full load above which it collects its garbage at once
local COLLECT_AFTER = 1048576
local ERR_PIECES = pieces_of.ERR

local _M = {
    -- the configuration this worker serves
    state = { version = nil, hash = nil, router = nil, generation = 0 },
}

local dict = ngx.shared.kongpy_snapshot

-- Makes `st` what this worker serves; the PDK's entity reads follow it.
local function serve(st)
    _M.state = st
    store.current = st.plugins
    runner.configure(st.plugins)
end

-- A load that decoded much leaves the previous configuration's rows as
-- garbage: collected at once, so the worker's memory does not hold both until
-- the incremental collector gets there. A load that reused its rows leaves
-- little, and a full collection would cost a walk of the whole heap.
local function collect(st)
    if st.decoded > COLLECT_AFTER then
        collectgarbage()
    end
end

local function is_int(v)
    return type(v) == "number" and v == floor(v)
end

-- The header of a framed document (a JSON line before the body) and where
-- the body starts; the body itself is not decoded.
local function header_of(blob)
    local nl = find(blob, "\n", 1, true)
    if not nl then
        return nil, ERR_FRAME
    end
    if byte(blob, 1) ~= LBRACE then
        return nil, ERR_SHAPE
    end
    local h, err = cjson.decode(sub(blob, 1, nl - 1))
    if h == nil then
        return nil, ERR_JSON .. tostring(err)
    end
    if type(h) ~= "table" then
        return nil, ERR_SHAPE
    end
    if h.snapshot_format ~= SNAPSHOT_FORMAT then
        return nil, ERR_FORMAT .. tostring(h.snapshot_format)
    end
    if h.hash ~= nil and h.hash ~= null and type(h.hash) ~= "string" then
        return nil, "hash must be a string"
    end
    return h, nl + 1
end

local function decode_body(blob, from)
    if byte(blob, from) ~= LBRACE then
        return nil, ERR_SHAPE
    end
    local body, err = cjson.decode(sub(blob, from))
    if body == nil then
        return nil, ERR_JSON .. tostring(err)
    end
    if type(body) ~= "table" then
        return nil, ERR_SHAPE
    end
    return body
end

local function decode(blob)
    local h, from = header_of(blob)
    if not h then
        return nil, from
    end
    local body, err = decode_body(blob, from)
    if not body then
        return nil, err
    end
    return h, body
end

-- Decodes, validates and compiles a full snapshot; returns a new state or
-- nil, err. `h`, `from`: its header, already decoded, and where its body
-- starts (the body is read only for pieces the served state lacks).
function _M.build(blob, h, from)
    if not h then
        h, from = header_of(blob)
        if not h then
            return nil, from
        end
    end
    if not is_int(h.version) then
        return nil, "version must be an integer"
    end
    local served = _M.state
    local body, pieces, same, decoded
    if h.pieces ~= nil then
        if type(h.pieces) ~= "table" then
            return nil, ERR_PIECES
        end
        body, pieces, same, decoded = pieces_of.decode(blob, from, h.pieces, served.pieces)
        if not body then
            return nil, pieces
        end
    else
        local err
        body, err = decode_body(blob, from)
        if not body then
            return nil, err
        end
        decoded = #blob
    end
    -- the configuration served now lends its parsed certificates, and its
    -- entity maps and indexes where their pieces are unchanged
    local st, err = state.full(h.version, h.hash, body, served, same)
    if st then
        st.pieces, st.decoded = pieces, decoded
    end
    return st, err
end

-- build() of a blob large enough to be followed by a full collection
-- (collect): the collector's incremental steps during the build would only
-- walk a heap that collection walks again, so it is paused meanwhile (the
-- previous configuration, still served, is not garbage before the swap).
-- The build's allocations paid the collector nothing, so whatever it leaves
-- unserved is collected at once: here when it fails, by the caller
-- (collect) when it drops the state.
local function build_large(blob, h, from)
    if #blob <= COLLECT_AFTER then
        return _M.build(blob, h, from)
    end
    collectgarbage("stop")
    local ok, st, err = pcall(_M.build, blob, h, from)
    collectgarbage("restart")
    if not (ok and st) then
        collectgarbage()
    end
    if not ok then
        error(st, 0)
    end
    return st, err
end

local function decode_delta(blob)
    local h, changes = decode(blob)
    if not h then
        return nil, changes
    end
    if not is_int(h.base_version) or not is_int(h.version) or h.version <= h.base_version then
        return nil, ERR_DELTA
    end
    h.changes = changes
    return h
end

local function chain_list()
    local out = {}
    for v in gmatch(dict:get("chain") or "", "%d+") do
        out[#out + 1] = tonumber(v)
    end
    return out
end

-- Applies the deltas of the chain after st.version; false, why when it cannot.
local function advance(st)
    local list = chain_list()
    local from
    for i, v in ipairs(list) do
        if v == st.version then
            from = i + 1
        end
    end
    if not from then
        return false, "version " .. tostring(st.version) .. " not in the chain"
    end
    for i = from, #list do
        local body = dict:get("delta:" .. list[i])
        local d = body and decode_delta(body)
        if not d or d.base_version ~= st.version then
            return false, "stored delta " .. list[i] .. (d and " has another base" or " unreadable")
        end
        local plan, err = state.prepare(st, d.changes, d.version, d.hash)
        if not plan then
            log(ERR, "cannot apply stored delta ", d.version, ": ", err)
            return false, err
        end
        state.commit(st, plan)
    end
    return true
end

-- A worker that cannot follow the stored chain tries again every tick; after
-- BEHIND_TICKS of them it says so, once per generation.
local behind_gen, behind_ticks = nil, 0
local function behind(gen, why)
    if gen ~= behind_gen then
        behind_gen, behind_ticks = gen, 0
    end
    behind_ticks = behind_ticks + 1
    if behind_ticks == BEHIND_TICKS then
        log(ERR, "cannot reach configuration version ", tostring(dict:get("version")),
            " from the stored snapshot: ", why)
    end
end

local function report()
    local id = worker_id()
    -- a worker replaced by a reload must not overwrite its successor's slot
    if id and not worker_exiting() then
        dict:set("worker_version:" .. id, _M.state.version or -1)
        dict:set("worker_pid:" .. id, worker_pid())
    end
end

-- Makes `blob` (version, hash) the full snapshot of the chain. With `replace`
-- the content changes: a new epoch, and every worker moves to it.
local function store_full(blob, version, hash, replace)
    local ok, err = dict:set("snapshot", blob)
    if not ok then
        return nil, "cannot store snapshot: " .. tostring(err)
    end
    -- its header line alone, for workers that may need nothing else
    ok, err = dict:set("snapshot_head", sub(blob, 1, (find(blob, "\n", 1, true) or 0)))
    if not ok then
        return nil, "cannot store snapshot: " .. tostring(err)
    end
    for _, v in ipairs(chain_list()) do
        dict:delete("delta:" .. v)
    end
    dict:set("chain", tostring(version))
    if not replace then
        return true
    end
    local epoch = dict:incr("epoch", 1, 0)
    dict:set("version", version)
    dict:set("hash", hash or "")
    return epoch, dict:incr("generation", 1, 0)
end

-- Loads the full snapshot of the dict and the chain after it.
local function load_full(gen)
    local epoch = dict:get("epoch")
    local head = header_of(dict:get("snapshot_head") or "")
    local st, err
    if head and pieces_of.all_held(head, _M.state.pieces) then
        -- the body's bytes are never read: no copy of it in this worker
        st, err = _M.build("", head, 1)
    else
        st, err = build_large(dict:get("snapshot") or "")
    end
    if not st then
        -- only validated snapshots reach the dict; this is a bug, not input
        log(ERR, "cannot rebuild stored snapshot: ", err)
        _M.state.generation = gen
        return
    end
    if dict:get("epoch") ~= epoch then
        collect(st)
        return -- a push is being stored: next tick
    end
    local ok, why = advance(st)
    if not ok then
        collect(st)
        return behind(gen, why)
    end
    st.epoch, st.generation = epoch, gen
    serve(st)
    report()
    collect(st)
end

-- Every worker rebuilds what it serves from the stored snapshot (the values the
-- configuration's vault references resolve to have changed: kongpy.secrets).
function _M.rebuild()
    if not dict:get("snapshot") then
        return
    end
    dict:incr("epoch", 1, 0)
    load_full(dict:incr("generation", 1, 0))
end

local function sync()
    local gen = dict:get("generation")
    local st = _M.state
    if not gen or gen == st.generation then
        return
    end
    if st.version and st.epoch == dict:get("epoch")
            and (st.version == dict:get("version") or advance(st)) then
        st.generation = gen
        serve(st)
        report()
        return
    end
    load_full(gen)
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
    local st, err = _M.build(blob)
    if not st then
        log(ERR, "ignoring stored snapshot ", snapshot_path, ": ", err)
        return
    end
    local epoch, gen = store_full(blob, st.version, st.hash, true)
    if not epoch then
        log(ERR, gen)
        return
    end
    st.epoch, st.generation = epoch, gen
    serve(st)
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
        -- again now and then: a worker of the previous generation, still
        -- finishing its requests, may have written its slot after us
        report()
    end
end

function _M.init_worker()
    sync()
    report()
    local ok, err = timer_every(SYNC_INTERVAL, tick)
    if not ok then
        log(ERR, "cannot start the snapshot sync timer: ", err)
    end
end

-- POST /snapshot: returns status, table body.
-- The control plane keeps the snapshot file: workers may not write the prefix.
function _M.push(blob)
    local cur_version, cur_hash = dict:get("version"), dict:get("hash")
    local h = header_of(blob)
    local version, hash = h and h.version, h and h.hash
    if version and version == cur_version and hash == cur_hash then
        -- the content the node serves (same hash): it only becomes the new
        -- base of the chain, so new workers need no deltas
        if dict:get("chain") ~= tostring(version) then
            local ok, err = store_full(blob, version, hash, false)
            if not ok then
                return 400, { message = "invalid snapshot: " .. err }
            end
        end
        return 200, { version = version }
    end
    local st, err = build_large(blob)
    if not st then
        return 400, { message = "invalid snapshot: " .. err }
    end
    -- the shared dict is the node's truth; a worker still behind catches up
    -- from its timer
    if cur_version == st.version and cur_hash == (st.hash or "") then
        collect(st)
        return 200, { version = st.version }
    end
    local epoch, gen = store_full(blob, st.version, st.hash, true)
    if not epoch then
        collect(st)
        return 400, { message = "invalid snapshot: " .. gen }
    end
    st.epoch, st.generation = epoch, gen
    serve(st)
    report()
    collect(st)
    log(INFO, "applied configuration version ", st.version)
    return 201, { version = st.version }
end

-- POST /snapshot/delta: returns status, table body.
function _M.push_delta(body)
    local d, err = decode_delta(body)
    if not d then
        return 400, { message = "invalid delta: " .. err }
    end
    sync()
    local st, cur = _M.state, dict:get("version")
    if d.base_version ~= cur or st.version ~= cur or st.epoch ~= dict:get("epoch") then
        return 409, { message = ERR_BASE, version = cur or null }
    end
    local list = chain_list()
    if #list > MAX_CHAIN or list[#list] ~= cur then
        return 409, { message = ERR_CHAIN, version = cur }
    end
    local plan, perr = state.prepare(st, d.changes, d.version, d.hash)
    if not plan then
        return 400, { message = "invalid delta: " .. perr }
    end
    local ok, serr = dict:safe_set("delta:" .. d.version, body)
    if not ok then
        return 409, { message = "cannot store delta: " .. tostring(serr), version = cur }
    end
    dict:set("chain", dict:get("chain") .. " " .. d.version)
    dict:set("version", d.version)
    dict:set("hash", type(d.hash) == "string" and d.hash or "")
    state.commit(st, plan)
    serve(st)
    st.generation = dict:incr("generation", 1, 0)
    report()
    log(INFO, "applied configuration delta ", d.base_version, " -> ", d.version,
        plan.router and (plan.router_updated and " (router updated)" or " (router built)") or "")
    return 201, { version = d.version }
end

return _M
