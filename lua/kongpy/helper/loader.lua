-- Loads the enabled plugins the way the data plane does (Kong's layout:
-- kong.plugins.<name>.handler, .schema, .daos, .migrations, .api) and keeps
-- what the control plane needs from them: the handler's facts, the plugin's
-- subschema of the plugins entity, its entities, migrations and Admin API
-- endpoints. A plugin that cannot be loaded keeps its error instead, naming
-- the file and the reason; the others load anyway.
local Entity = require("kong.db.schema.entity")
local plugins_def = require("kong.db.schema.entities.plugins")
local util = require("kongpy.schema.util")

local type = type
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local tostring = tostring
local setmetatable = setmetatable
local searchpath = package.searchpath
local sort = table.sort

local PHASES = { "init_worker", "configure", "certificate", "rewrite", "access", "response",
                 "header_filter", "body_filter", "log", "preread" }
local ERR_TABLE = "must return a table"
local ERR_PRIORITY = "PRIORITY must be an integer"
local ERR_VERSION = "VERSION must be a string"
local ERR_SCHEMA_NAME = "the schema's name must be the plugin's name"

local _M = {}

local array_mt = util.array_mt

local function list(t)
    return setmetatable(t, array_mt)
end

local function module_file(name)
    return searchpath(name, package.path)
end

-- require() of an optional module: nil when absent, error when it fails.
local function load_optional(name)
    local file = module_file(name)
    if not file then
        return nil, nil, nil
    end
    local ok, mod = pcall(require, name)
    if not ok then
        return nil, file .. ": " .. tostring(mod), file
    end
    return mod, nil, file
end

local function handler_facts(name)
    local mod = "kong.plugins." .. name .. ".handler"
    local file = module_file(mod) or mod
    local ok, h = pcall(require, mod)
    if not ok then
        return nil, file .. ": " .. tostring(h)
    end
    if type(h) ~= "table" then
        return nil, file .. ": " .. ERR_TABLE
    end
    local p = h.PRIORITY
    if type(p) ~= "number" or p ~= math.floor(p) then
        return nil, file .. ": " .. ERR_PRIORITY
    end
    if type(h.VERSION) ~= "string" or h.VERSION == "" then
        return nil, file .. ": " .. ERR_VERSION
    end
    local phases = {}
    for _, phase in ipairs(PHASES) do
        if type(h[phase]) == "function" then
            phases[#phases + 1] = phase
        end
    end
    return { priority = p, version = h.VERSION, phases = list(phases), file = file }
end

-- daos.lua returns an array of entity definitions (or a table keyed by name).
local function load_daos(name, facts)
    local daos, err, file = load_optional("kong.plugins." .. name .. ".daos")
    if err then
        return nil, err
    end
    local out = {}
    -- in order when an array: an entity may reference one declared before it
    local iter = (type(daos) == "table" and daos[1]) and ipairs or pairs
    for key, def in iter(daos or {}) do
        if type(def) == "table" and key ~= "tables" and type(def.name) == "string" then
            local schema, serr = Entity.new(def)
            if not schema then
                return nil, file .. ": " .. def.name .. ": " .. tostring(serr)
            end
            out[#out + 1] = schema
        end
    end
    sort(out, function(a, b) return a.name < b.name end)
    facts.daos_file = file
    return out
end

-- migrations/init.lua lists the steps; each step module holds, per
-- datastore, `up` SQL and an optional `teardown` function.
local function load_migrations(name)
    local base = "kong.plugins." .. name .. ".migrations"
    local steps, err, file = load_optional(base)
    if err then
        return nil, err
    end
    local out = {}
    for _, step in ipairs(type(steps) == "table" and steps or {}) do
        local mod, serr, sfile = load_optional(base .. "." .. step)
        if serr or not mod then
            return nil, serr or (file .. ": no module for step " .. tostring(step))
        end
        local entry = { name = step, file = sfile }
        for _, db in ipairs({ "postgres", "cassandra" }) do
            local part = mod[db]
            if type(part) == "table" then
                entry[db] = {
                    up = type(part.up) == "string" and part.up or nil,
                    teardown = type(part.teardown) == "function",
                }
            end
        end
        out[#out + 1] = entry
    end
    return list(out)
end

-- api.lua: endpoints and their methods (the Admin API reports them).
local function load_api(name)
    local api, err = load_optional("kong.plugins." .. name .. ".api")
    if err then
        return nil, err
    end
    local out = {}
    for path, def in pairs(type(api) == "table" and api or {}) do
        local methods = {}
        for method, fn in pairs(type(def) == "table" and def.methods or def or {}) do
            if type(fn) == "function" then
                methods[#methods + 1] = method
            end
        end
        sort(methods)
        out[#out + 1] = { path = path, methods = list(methods) }
    end
    sort(out, function(a, b) return a.path < b.path end)
    return list(out)
end

local function load_plugin(plugins, name)
    local facts, err = handler_facts(name)
    if not facts then
        return nil, err
    end
    local smod = "kong.plugins." .. name .. ".schema"
    local sfile = module_file(smod) or smod
    local ok, def = pcall(require, smod)
    if not ok then
        return nil, sfile .. ": " .. tostring(def)
    end
    if type(def) ~= "table" then
        return nil, sfile .. ": " .. ERR_TABLE
    end
    if def.name ~= nil and def.name ~= name then
        return nil, sfile .. ": " .. ERR_SCHEMA_NAME
    end
    local sok, serr = Entity.new_subschema(plugins, name, util.deep_copy(def))
    if not sok then
        return nil, sfile .. ": " .. tostring(serr)
    end
    local daos, derr = load_daos(name, facts)
    if not daos then
        return nil, derr
    end
    local migrations, merr = load_migrations(name)
    if not migrations then
        return nil, merr
    end
    local api, aerr = load_api(name)
    if not api then
        return nil, aerr
    end
    facts.schema_file = sfile
    facts.daos = daos
    facts.migrations = migrations
    facts.api = api
    return facts
end

-- Loads every plugin of `names`: returns the plugins entity schema (with a
-- subschema per loaded plugin), facts by name and errors by name.
function _M.load(names)
    local plugins = assert(Entity.new(util.deep_copy(plugins_def)))
    local facts, errors = {}, {}
    for _, name in ipairs(names) do
        local f, err = load_plugin(plugins, name)
        if f then
            facts[name] = f
        else
            errors[name] = err
        end
    end
    return plugins, facts, errors
end

return _M
