-- The plugin runner: compiles the plugin instances of a configuration version
-- and runs them by PRIORITY. For each request it resolves, per plugin name,
-- the one instance that applies (Kong's precedence, kong-reference §5.3); the
-- resolved list is cached per (scheme, route, service, consumer) and version.
local store = require("kongpy.pdk.store")
local pdk_ctx = require("kongpy.pdk.ctx")
local errors = require("kongpy.errors")
local secrets = require("kongpy.secrets")
local instrumentation = require("kongpy.instrumentation")
local rewriting = require("kongpy.pdk.phase").rewriting
local request_id = require("kongpy.request_id").get
local ctxref = require("kongpy.ctxref")

local ngx = ngx
local null = ngx.null
local log = ngx.log
local ERR = ngx.ERR

local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local pcall = pcall
local error = error
local tostring = tostring
local sort = table.sort
local running = coroutine.running

local CACHE_SIZE = 2000
local ERR_SHAPE = "plugins must be objects with a name"
local ERR_LOAD = "cannot load plugin handler "
local ERR_NOT_ENABLED = " plugin is in use but not enabled on this node; refusing the request"

local _M = {}

local handlers = {}   -- name -> handler table, loaded once in init
local EMPTY = {}

-- Stands in for a configured plugin this node does not run: it runs first and
-- refuses the request (Kong's 500), so a route is never served without a
-- check it was configured with.
local refused = {}
local UNRUNNABLE = { PRIORITY = math.huge }

function UNRUNNABLE.access(_, conf)
    local name = conf.__plugin_name
    if not refused[name] then
        refused[name] = true
        log(ERR, name, ERR_NOT_ENABLED)
    end
    return errors.exit(500, errors.MESSAGES[500], request_id())
end

-- Stands in for an instance whose configuration names a vault reference the
-- node could not resolve: fail closed, as for a plugin that does not run.
local UNRESOLVED = { PRIORITY = math.huge }

function UNRESOLVED.access(_, conf)
    return errors.exit(500, errors.MESSAGES[500], request_id())
end

local configured      -- the runner state last handed to configure handlers
local worker_ready = false

local function by_id(a, b)
    return a.__plugin_id < b.__plugin_id
end

-- Kong's configure(configs) hook: every enabled handler that has one gets the
-- array of its enabled instances' configurations (nil when there is none),
-- in each worker, whenever the plugin configuration changes.
local function run_configure(ps)
    configured = ps
    for name, h in pairs(handlers) do
        if h.configure then
            local configs
            local scopes = ps.scopes[name]
            if scopes then
                configs = {}
                for _, inst in pairs(scopes) do
                    configs[#configs + 1] = inst.conf
                end
                sort(configs, by_id)
            end
            pdk_ctx.init_worker_plugin = { name = name }
            local ok, err = pcall(h.configure, h, configs)
            pdk_ctx.init_worker_plugin = nil
            if not ok then
                log(ERR, "plugin ", name, " failed in configure: ", tostring(err))
            end
        end
    end
end

-- Called whenever a worker starts serving a runner state.
function _M.configure(ps)
    if worker_ready and ps and ps ~= configured then
        run_configure(ps)
    end
end

-- init_worker: every enabled handler that has one, once per worker; a failure
-- is logged (as Kong does) and the worker keeps serving. Then the configure
-- hooks see the configuration the worker serves.
function _M.init_worker(ps)
    for name, h in pairs(handlers) do
        if h.init_worker then
            pdk_ctx.init_worker_plugin = { name = name }
            local ok, err = pcall(h.init_worker, h)
            if not ok then
                log(ERR, "plugin ", name, " failed in init_worker: ", tostring(err))
            end
        end
    end
    pdk_ctx.init_worker_plugin = nil
    worker_ready = true
    if ps then
        run_configure(ps)
    end
end

local function handler_of(name)
    return handlers[name] or UNRUNNABLE
end

-- Loads `<name>.handler` for every plugin enabled on the node.
function _M.init(names)
    for _, name in ipairs(names or EMPTY) do
        local ok, h = pcall(require, "kong.plugins." .. name .. ".handler")
        if not ok or type(h) ~= "table" then
            -- an enabled plugin that cannot run must not leave routes open
            error(ERR_LOAD .. name .. ": " .. tostring(h))
        end
        handlers[name] = h
    end
end

local function id_of(ref)
    return type(ref) == "table" and ref.id or nil
end

local function scope_key(r, s, c)
    return (r or "") .. ":" .. (s or "") .. ":" .. (c or "")
end

-- Kong: higher PRIORITY first; equal priorities in reverse name order.
local function by_priority(a, b)
    local pa, pb = handler_of(a).PRIORITY or 0, handler_of(b).PRIORITY or 0
    if pa == pb then
        return a > b
    end
    return pa > pb
end

-- JSON nulls (ngx.null) become nil, so plugin code tests fields with `if conf.x`.
local function strip_nulls(t)
    for k, v in pairs(t) do
        if v == null then
            t[k] = nil
        elseif type(v) == "table" then
            strip_nulls(v)
        end
    end
    return t
end

-- Kong's compiled plugin configuration: the instance's scope and identity are
-- set once here, so a plugin keys its state by them (rate-limiting counters by
-- the instance's route and service) without looking for itself.
local function annotate(conf, p, route, service, consumer)
    conf.route_id = route
    conf.service_id = service
    conf.consumer_id = consumer
    conf.plugin_instance_name = type(p.instance_name) == "string" and p.instance_name or nil
    conf.__plugin_id = p.id
    conf.__key__ = "plugins:" .. p.name .. ":" .. (route or "") .. ":" .. (service or "")
                   .. ":" .. (consumer or "") .. "::"
    return conf
end

local function compile(p, route, service, consumer)
    local protocols = {}
    for _, proto in ipairs(type(p.protocols) == "table" and p.protocols or EMPTY) do
        protocols[proto] = true
    end
    local handler = handlers[p.name]
    local conf
    if handler then
        conf = type(p.config) == "table" and strip_nulls(p.config) or {}
        local resolved, ref, err = secrets.resolve(conf)
        if resolved then
            conf = resolved
        else
            -- the reference, never a value; once per build
            log(ERR, p.name, " plugin ", p.id, ": cannot resolve ", ref, ": ", err,
                "; refusing the requests it applies to")
            handler, conf = UNRESOLVED, { __plugin_name = p.name }
        end
    else
        conf = { __plugin_name = p.name }
    end
    return { name = p.name, handler = handler or UNRUNNABLE, id = p.id, protocols = protocols,
             conf = annotate(conf, p, route, service, consumer) }
end

local function prebuild(ps)
    store.ensure_index(ps, "consumers", "id")
    store.ensure_index(ps, "consumers", "username")
    for _, h in pairs(handlers) do
        for _, spec in ipairs(h.INDEXES or EMPTY) do
            store.ensure_index(ps, spec[1], spec[2], spec[3])
        end
    end
end

-- Compiles plugin rows (id -> row) into instances by name and scope.
local function compile_all(ps, plugins)
    ps.n, ps.names, ps.scopes, ps.consumer_scoped = 0, {}, {}, false
    if type(plugins) ~= "table" then
        return nil, ERR_SHAPE
    end
    for _, p in pairs(plugins) do
        if type(p) ~= "table" or type(p.name) ~= "string" then
            return nil, ERR_SHAPE
        end
        if p.enabled ~= false then
            local scopes = ps.scopes[p.name]
            if not scopes then
                scopes = {}
                ps.scopes[p.name] = scopes
                ps.names[#ps.names + 1] = p.name
            end
            local r, sv, c = id_of(p.route), id_of(p.service), id_of(p.consumer)
            scopes[scope_key(r, sv, c)] = compile(p, r, sv, c)
            ps.consumer_scoped = ps.consumer_scoped or c ~= nil
        end
    end
    sort(ps.names, by_priority)
    ps.n = #ps.names
    return ps
end

-- The runner state of a configuration: `entities` is name -> id -> row (kept
-- current in place by kongpy.state); returns the state or nil, err. The
-- entities of `lent` (name -> true) are those of `served` (a runner state),
-- unchanged: their indexes and arrays are taken over, not rebuilt.
function _M.build(version, entities, served, lent)
    local ps = { version = version, entities = entities, indexes = {}, index_specs = {},
                 arrays = {}, borrowed = lent }
    if served and lent then
        for iname, spec in pairs(served.index_specs) do
            if lent[spec[1]] then
                ps.indexes[iname], ps.index_specs[iname] = served.indexes[iname], spec
            end
        end
        for name, arr in pairs(served.arrays) do
            ps.arrays[name] = lent[name] and arr or nil
        end
    end
    local ok, err = compile_all(ps, entities.plugins or EMPTY)
    if not ok then
        return nil, err
    end
    if next(handlers) then
        prebuild(ps)
    end
    ps.cache, ps.cached = {}, 0
    return ps
end

-- A runner state with the instances of `plugins` (id -> row), sharing the
-- entities and indexes of `ps`; `ps` itself is left untouched.
function _M.rescope(ps, plugins)
    local new = { version = ps.version, entities = ps.entities, indexes = ps.indexes,
                  index_specs = ps.index_specs, arrays = ps.arrays, borrowed = ps.borrowed }
    local ok, err = compile_all(new, plugins or EMPTY)
    if not ok then
        return nil, err
    end
    new.cache, new.cached = {}, 0
    return new
end

local function try(scopes, scheme, key)
    local inst = scopes[key]
    if inst and inst.protocols[scheme] then
        return inst
    end
end

-- Most specific first: route+service+consumer, route+consumer, service+consumer,
-- route+service, consumer, route, service, global.
local function pick(scopes, scheme, r, s, c)
    local rs = r and s
    if c then
        return (rs and try(scopes, scheme, scope_key(r, s, c)))
            or (r and try(scopes, scheme, scope_key(r, nil, c)))
            or (s and try(scopes, scheme, scope_key(nil, s, c)))
            or (rs and try(scopes, scheme, scope_key(r, s, nil)))
            or try(scopes, scheme, scope_key(nil, nil, c))
            or (r and try(scopes, scheme, scope_key(r, nil, nil)))
            or (s and try(scopes, scheme, scope_key(nil, s, nil)))
            or try(scopes, scheme, "::") or false
    end
    return (rs and try(scopes, scheme, scope_key(r, s, nil)))
        or (r and try(scopes, scheme, scope_key(r, nil, nil)))
        or (s and try(scopes, scheme, scope_key(nil, s, nil)))
        or try(scopes, scheme, "::") or false
end

local function wants_later(h)
    return h.header_filter or h.body_filter or h.log or h.response
end

local function note(later, h)
    later.logging = later.logging or h.log ~= nil
    later.filtering = later.filtering or h.header_filter ~= nil
    later.buffered = later.buffered or h.response ~= nil
end

-- The instances of `list` with a later phase, in order (nil when none):
-- Kong collects every plugin of the request for its later phases, also
-- those after one that ended the request in access (a logger records the
-- 401 of an authentication plugin). `upto[i]` counts those among the first
-- i instances.
local function later_of(list, n)
    local later, upto = {}, {}
    for i = 1, n do
        local inst = list[i]
        local h = inst and inst.handler
        if h and wants_later(h) then
            later[#later + 1] = inst
            note(later, h)
        end
        upto[i] = #later
    end
    if #later > 0 then
        later.upto = upto
        return later
    end
end

local function child(t, k)
    local c = t[k]
    if not c then
        c = {}
        t[k] = c
    end
    return c
end

-- The instance of each plugin name (false when none) for this request shape,
-- and (list.later) those with a later phase. Cached in nested tables (scheme
-- -> route -> service -> consumer, false for none), so a request builds no
-- key string; past CACHE_SIZE lists the cache starts over.
local function resolved(ps, scheme, r, s, c)
    local by_service = child(child(ps.cache, scheme), r or false)
    local by_consumer = child(by_service, s or false)
    local ck = c or false
    local list = by_consumer[ck]
    if list then
        return list
    end
    list = {}
    for i, name in ipairs(ps.names) do
        list[i] = pick(ps.scopes[name], scheme, r, s, c)
    end
    list.later = later_of(list, ps.n)
    if ps.cached >= CACHE_SIZE then
        ps.cache, ps.cached = {}, 0
        by_consumer = child(child(child(ps.cache, scheme), r or false), s or false)
    end
    by_consumer[ck] = list
    ps.cached = ps.cached + 1
    return list
end

-- Becomes true in a worker the first time a request collects an instance
-- with a later phase: until then body_filter/log have nothing to run and skip
-- even the ngx.ctx lookup.
_M.collecting = false

local function collect(ctx, later)
    ctx.kongpy_collected = later
    -- the balancer and filters record the log object's tries and timings
    -- (kongpy.pdk.serialize) for requests that run a log handler
    ctx.kongpy_logging = later and later.logging
    if later then
        _M.collecting = true
        -- before any access handler runs: one that raises ends on nginx's
        -- error page, which runs the collected phases with this ctx (as
        -- Kong's error handler restores it)
        ctxref.stash(ctx)
        if later.buffered then
            -- Kong's response phase needs the whole upstream answer
            ctx.buffered_proxying = true
        end
    end
end

-- The consumer was identified at instance i of n: what was collected up to
-- i stays, the instances after i come from the consumer's list.
local function switch(before, after, i, n)
    local keep = before and before.upto[i] or 0
    local from = after and after.upto[i] or 0
    if keep == 0 and from == 0 then
        return after
    end
    local merged, upto = {}, {}
    for k = 1, keep do
        merged[k] = before[k]
        note(merged, before[k].handler)
    end
    for k = from + 1, after and #after or 0 do
        merged[#merged + 1] = after[k]
        note(merged, after[k].handler)
    end
    for j = 1, n do
        upto[j] = j <= i and (before and before.upto[j] or 0)
                  or keep + (after and after.upto[j] or 0) - from
    end
    merged.upto = upto
    return #merged > 0 and merged or nil
end

-- Instance i of the request's list, when it has an access phase; the
-- consumer it identified may switch the rest of the request to the
-- consumer's list (what was collected up to i stays).
local function access_step(ctx, ps, scheme, route_id, service_id, list, collected,
                           consumer_id, i, n)
    local inst = list[i]
    if not inst then
        return list, collected, consumer_id
    end
    local h = inst.handler
    if not h.access then
        return list, collected, consumer_id
    end
    -- the PDK's kong.log / kong.ctx.plugin / kong.plugin read it
    ctx.kongpy_plugin = inst
    if instrumentation.plugin_access then
        local span = instrumentation.plugin("access", inst.name)
        h:access(inst.conf)
        span:finish()
    else
        h:access(inst.conf)
    end
    local consumer = ps.consumer_scoped and ctx.authenticated_consumer
    if consumer and consumer.id ~= consumer_id then
        consumer_id = consumer.id
        list = resolved(ps, scheme, route_id, service_id, consumer_id)
        collected = switch(collected, list.later, i, n)
        collect(ctx, collected)
    end
    return list, collected, consumer_id
end

-- Runs the access phase. The instances with later phases are collected in
-- ctx before any runs, so that one ending the request hides none of them.
--
-- The first two instances are stepped through without a loop: a node with
-- one or two plugins would run a loop that goes round once or twice per
-- request, which LuaJIT never compiles (it sees no loop coming round) and
-- which makes it abort, and in the end blacklist, every trace around it --
-- the whole access phase then runs interpreted (lua/kongpy/traceable.lua).
function _M.access(ctx, ps, scheme, route_id, service_id)
    local n = ps.n
    if n == 0 then
        return
    end
    local list = resolved(ps, scheme, route_id, service_id, nil)
    local collected = list.later
    if collected then
        collect(ctx, collected)
    end
    local consumer_id
    list, collected, consumer_id = access_step(ctx, ps, scheme, route_id, service_id, list,
                                               collected, nil, 1, n)
    if n < 2 then
        return
    end
    list, collected, consumer_id = access_step(ctx, ps, scheme, route_id, service_id, list,
                                               collected, consumer_id, 2, n)
    for i = 3, n do
        list, collected, consumer_id = access_step(ctx, ps, scheme, route_id, service_id,
                                                   list, collected, consumer_id, i, n)
    end
end

-- A request no route matched: as in Kong, whose collected iterator falls
-- back to the global plugins when access collected nothing, the global
-- instances run their header_filter, body_filter and log. The list is built
-- once per runner state and scheme.
function _M.collect_global(ctx, ps, scheme)
    local by_scheme = ps.global_later
    if not by_scheme then
        by_scheme = {}
        ps.global_later = by_scheme
    end
    local list = by_scheme[scheme]
    if list == nil then
        list = {}
        for _, name in ipairs(ps.names) do
            local inst = ps.scopes[name]["::"]
            if inst and inst.handler ~= UNRUNNABLE and inst.protocols[scheme]
               and wants_later(inst.handler) then
                list[#list + 1] = inst
                note(list, inst.handler)
            end
        end
        list = #list > 0 and list
        by_scheme[scheme] = list
    end
    if list then
        collect(ctx, list)
    end
end

-- certificate / rewrite: global instances only (routing has not happened).
-- The list of global instances implementing the phase is built once per
-- runner state, so a node whose plugins implement the phase (pre-function
-- is bundled) but have no global instance pays one table read per request.
local function globals_of(ps, phase)
    local by_phase = ps.globals
    if not by_phase then
        by_phase = {}
        ps.globals = by_phase
    end
    local list = by_phase[phase]
    if list == nil then
        list = {}
        for _, name in ipairs(ps.names) do
            local inst = ps.scopes[name]["::"]
            local h = inst and inst.handler
            if h and h[phase] then
                list[#list + 1] = inst
            end
        end
        list = #list > 0 and list
        by_phase[phase] = list
    end
    return list
end

function _M.run_global(phase, ps)
    local list = globals_of(ps, phase)
    if not list then
        return
    end
    local ctx = ngx.ctx
    local scheme = ngx.var.scheme
    -- rewrite runs inside nginx's access phase: the PDK's phase checks
    -- name it by this mark (a handler ending the request leaves it to
    -- the coroutine's collection)
    local co = phase == "rewrite" and running()
    if co then
        rewriting[co] = true
    end
    for i = 1, #list do
        local inst = list[i]
        if inst.protocols[scheme] then
            local h = inst.handler
            ctx.kongpy_plugin = inst
            if phase == "rewrite" and instrumentation.plugin_rewrite then
                local span = instrumentation.plugin("rewrite", inst.name)
                h[phase](h, inst.conf)
                span:finish()
            else
                h[phase](h, inst.conf)
            end
        end
    end
    if co then
        rewriting[co] = nil
    end
end

local function collected_step(phase, ctx, inst)
    local h = inst.handler
    local fn = h[phase]
    if fn then
        ctx.kongpy_plugin = inst
        if phase == "header_filter" and instrumentation.plugin_header_filter then
            local span = instrumentation.plugin("header_filter", inst.name)
            fn(h, inst.conf)
            span:finish()
        else
            fn(h, inst.conf)
        end
    end
end

-- response / header_filter / body_filter / log for the instances collected
-- in access; the first two without a loop, as in _M.access.
function _M.run_collected(phase, ctx)
    local collected = ctx.kongpy_collected
    if not collected then
        return
    end
    local n = #collected
    collected_step(phase, ctx, collected[1])
    if n < 2 then
        return
    end
    collected_step(phase, ctx, collected[2])
    for i = 3, n do
        collected_step(phase, ctx, collected[i])
    end
end

return _M
