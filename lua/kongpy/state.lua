-- The configuration one worker serves: entity rows by id, and the structures
-- derived from them (compiled services and router, plugin runner with its
-- hash indexes). A full snapshot builds everything; a delta rebuilds only the
-- structures its changes feed and updates the credential indexes in place.
-- Upstreams are rebuilt one by one: only those whose rows or targets changed.
-- The certificate index is rebuilt when certificates or snis change, keeping
-- the parsed pairs of unchanged certificates.
local router = require("kongpy.router")
local upstreams = require("kongpy.upstreams")
local certificates = require("kongpy.certificates")
local build = require("kongpy.router_build")
local runner = require("kongpy.runner")
local store = require("kongpy.pdk.store")

local type = type
local tostring = tostring
local pairs = pairs
local ipairs = ipairs
local next = next
local floor = math.floor
local find = string.find
local match = string.match
local sub = string.sub
local sort = table.sort

local ERR_ROWS = " rows must be objects with a string id"
local ERR_CHANGES = "changes must map entity names to {upsert, delete}"
local ERR_DELETE = " deletes must be string ids"

local _M = {}

local EMPTY = {}
-- Entities feeding a structure rebuilt as a whole: their maps are copied with
-- the changes applied (small tables), never modified in place.
local ROUTING = { services = true, routes = true }
-- Entities feeding the upstream objects (kongpy.upstreams)
local BALANCING = { upstreams = true, targets = true }

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
        -- grpc/grpcs: proxied by grpc_pass (the @grpc* locations)
        grpc = (protocol == "grpc" or protocol == "grpcs") or nil,
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

local function by_id(a, b)
    return a.id < b.id
end

-- Routes in id order: the order full snapshots have always listed them in.
-- `list`: the routes of the map `routes` in that order already, if known.
local function build_router(services, routes, list)
    local compiled, disabled = {}, {}
    for id, s in pairs(services) do
        if type(s.id) ~= "string" then
            return nil, "services must be objects with an id"
        end
        local svc, err = compile_service(s)
        if not svc then
            return nil, err
        end
        if s.enabled == false then
            disabled[id] = true
        else
            compiled[id] = svc
        end
    end
    if not list then
        list = {}
        for _, r in pairs(routes) do
            list[#list + 1] = r
        end
        sort(list, by_id)
    end
    return router.new(list, compiled, disabled)
end

local function valid_row(row)
    return type(row) == "table" and type(row.id) == "string"
end

-- The map (id -> row) of an entity's array, nil, and whether the array lists
-- its rows by strictly ascending id; nil, err for a row that is not an object.
local function map_of(name, rows)
    local map, ascending, prev = {}, true, nil
    for i, row in ipairs(rows) do
        if type(row) ~= "table" then
            return nil, name .. ERR_ROWS
        end
        local id = row.id
        if type(id) == "string" then
            -- ids ascending: none repeats, and the array is the map's id order
            if prev and prev >= id then
                ascending = false
            end
            map[id] = row
            prev = id
        else
            -- rows without an id still count; deltas cannot address them
            ascending = false
            map[i] = row
        end
    end
    return map, nil, ascending
end

-- The entities of `same` (name -> true: the body's rows are the very rows
-- `served` was loaded with) whose maps no delta has changed since: `served`
-- lends them to the new state as they are.
local function lendable(served, same)
    local lent = {}
    local held, touched = served.entities, served.touched or EMPTY
    if held and same then
        for name in pairs(same) do
            if held[name] and not touched[name] then
                lent[name] = true
            end
        end
    end
    return lent
end

-- Builds the state of a snapshot's version, hash and decoded body (entity
-- name -> array of rows); nil, err if invalid. The arrays become maps and
-- are not kept. `served`: the state served now, whose parsed certificates
-- are reused where the PEM is unchanged, and whose maps, indexes and router
-- are reused for the entities of `same` (see lendable).
function _M.full(version, hash, body, served, same)
    served = served or EMPTY
    local lent = lendable(served, same)
    local entities, ordered = {}, {}
    for name, rows in pairs(body) do
        if type(rows) ~= "table" then
            return nil, tostring(name) .. " must be an array"
        end
        local map = lent[name] and served.entities[name]
        if not map then
            local err, ascending
            map, err, ascending = map_of(name, rows)
            if not map then
                return nil, err
            end
            -- in id order (as the control plane lists them): no sort
            ordered[name] = ascending and rows or nil
        end
        entities[name] = map
    end
    local rt, err = served.router
    if not (lent.services and lent.routes and rt) then
        rt, err = build_router(entities.services or EMPTY, entities.routes or EMPTY,
                               ordered.routes)
        if not rt then
            return nil, err
        end
    end
    local ps, perr = runner.build(version, entities, served.plugins, lent)
    if not ps then
        return nil, perr
    end
    local ups, uerr = upstreams.build(entities.upstreams, entities.targets)
    if not ups then
        return nil, uerr
    end
    local certs, cerr = certificates.build(entities.certificates, entities.snis,
                                           served.certificates)
    if not certs then
        return nil, cerr
    end
    return {
        certificates = certs,
        upstreams = ups,
        version = version,
        hash = build.is_set(hash) and hash or nil,
        entities = entities,
        router = rt,
        plugins = ps,
        generation = 0,
        -- entities a delta changed since this full load (see lendable)
        touched = {},
    }
end

local function check_change(name, ch)
    if type(name) ~= "string" or type(ch) ~= "table" then
        return nil, ERR_CHANGES
    end
    local upsert, delete = ch.upsert or EMPTY, ch.delete or EMPTY
    if type(upsert) ~= "table" or type(delete) ~= "table" then
        return nil, ERR_CHANGES
    end
    for _, row in ipairs(upsert) do
        if not valid_row(row) then
            return nil, name .. ERR_ROWS
        end
    end
    for _, id in ipairs(delete) do
        if type(id) ~= "string" then
            return nil, name .. ERR_DELETE
        end
    end
    return upsert, delete
end

local function with_changes(map, upsert, delete)
    local copy = {}
    for id, row in pairs(map or EMPTY) do
        copy[id] = row
    end
    for _, id in ipairs(delete) do
        copy[id] = nil
    end
    for _, row in ipairs(upsert) do
        copy[row.id] = row
    end
    return copy
end

-- Validates `changes` against `st` and builds the structures they change.
-- Returns a plan for commit(), or nil, err; `st` is not modified.
function _M.prepare(st, changes, version, hash)
    if type(changes) ~= "table" then
        return nil, ERR_CHANGES
    end
    local plan = { version = version, hash = hash, maps = {}, steps = {} }
    local routing, plugins, balancing, tls = false, nil, {}, {}
    for name, ch in pairs(changes) do
        local upsert, delete = check_change(name, ch)
        if not upsert then
            return nil, delete
        end
        if BALANCING[name] then
            balancing[name] = with_changes(st.entities[name], upsert, delete)
        end
        if certificates.ENTITIES[name] then
            tls[name] = with_changes(st.entities[name], upsert, delete)
        end
        if ROUTING[name] then
            plan.maps[name] = with_changes(st.entities[name], upsert, delete)
            routing = true
        else
            if name == "plugins" then
                plugins = with_changes(st.entities.plugins, upsert, delete)
            end
            plan.steps[#plan.steps + 1] = { name, upsert, delete }
        end
    end
    if routing then
        local maps, ent = plan.maps, st.entities
        local rt, err
        local ch = changes.routes
        if not maps.services and st.router then
            -- a few routes changed: the served router, changed in a copy
            rt, err = router.update(st.router, ch.upsert or EMPTY, ch.delete or EMPTY)
            if err then
                return nil, err
            end
            plan.router_updated = rt ~= nil
        end
        if not rt then
            rt, err = build_router(maps.services or ent.services or EMPTY,
                                   maps.routes or ent.routes or EMPTY)
            if not rt then
                return nil, err
            end
        end
        plan.router = rt
    end
    if next(balancing) then
        local ent = st.entities
        local ups, err = upstreams.update(st.upstreams,
                                          balancing.upstreams or ent.upstreams,
                                          balancing.targets or ent.targets,
                                          upstreams.changed_ids(changes, ent.targets))
        if not ups then
            return nil, err
        end
        plan.upstreams = ups
    end
    if next(tls) then
        local ent = st.entities
        local certs, err = certificates.build(tls.certificates or ent.certificates,
                                              tls.snis or ent.snis, st.certificates)
        if not certs then
            return nil, err
        end
        plan.certificates = certs
    end
    if plugins then
        local ps, err = runner.rescope(st.plugins, plugins)
        if not ps then
            return nil, err
        end
        plan.plugins = ps
    end
    return plan
end

local function specs_of(ps, name)
    local out = {}
    for _, spec in pairs(ps.index_specs) do
        if spec[1] == name then
            out[#out + 1] = spec
        end
    end
    return out
end

local function unindex(ps, specs, row)
    for _, spec in ipairs(specs) do
        store.index_remove(ps.indexes[store.index_name(spec[1], spec[2], spec[3])],
                           spec[2], spec[3], row)
    end
end

-- a shallow copy (LuaJIT's table.clone: no metatable)
local copy = require("table.clone")

-- An entity's map and indexes lent by the previous state (kongpy.runner's
-- `borrowed`) are copied before their first change: that state may still be
-- served when a change is applied to its successor.
local function unshare(ps, entities, name)
    local lent = ps.borrowed
    if not (lent and lent[name]) then
        return
    end
    entities[name] = copy(entities[name])
    for iname, spec in pairs(ps.index_specs) do
        local idx = spec[1] == name and ps.indexes[iname]
        if idx then
            idx = copy(idx)
            if spec[3] then
                for k, list in pairs(idx) do
                    idx[k] = copy(list)
                end
            end
            ps.indexes[iname] = idx
        end
    end
    lent[name] = nil
end

-- Replaces and removes the rows of one entity, keeping its indexes current.
local function apply_step(ps, entities, name, upsert, delete)
    unshare(ps, entities, name)
    local map = entities[name]
    if not map then
        map = {}
        entities[name] = map
    end
    local specs = specs_of(ps, name)
    for _, id in ipairs(delete) do
        local old = map[id]
        if old then
            unindex(ps, specs, old)
            map[id] = nil
        end
    end
    for _, row in ipairs(upsert) do
        local old = map[row.id]
        if old then
            unindex(ps, specs, old)
        end
        map[row.id] = row
        for _, spec in ipairs(specs) do
            store.index_add(ps.indexes[store.index_name(spec[1], spec[2], spec[3])],
                            spec[2], spec[3], row)
        end
    end
    ps.arrays[name] = nil
end

-- Applies a plan from prepare(); cannot fail on validated input.
function _M.commit(st, plan)
    local ps = plan.plugins or st.plugins
    local entities = st.entities
    for name, map in pairs(plan.maps) do
        st.touched[name] = true
        entities[name] = map
        ps.arrays[name] = nil
        for iname, spec in pairs(ps.index_specs) do
            if spec[1] == name then
                ps.indexes[iname] = store.build_index(map, spec[2], spec[3])
            end
        end
    end
    for _, step in ipairs(plan.steps) do
        st.touched[step[1]] = true
        apply_step(ps, entities, step[1], step[2], step[3])
    end
    if plan.router then
        st.router = plan.router
    end
    if plan.upstreams then
        st.upstreams = plan.upstreams
    end
    if plan.certificates then
        st.certificates = plan.certificates
    end
    ps.version = plan.version
    st.plugins = ps
    st.version = plan.version
    st.hash = build.is_set(plan.hash) and plan.hash or nil
end

return _M
