-- Named schemas, for foreign keys: a `foreign` field names the entity it
-- references and Schema.new refuses a name nobody registered, as Kong does.
-- Kong's core entities live in the Python control plane here, so their
-- names resolve to a stand-in keyed by a UUID `id` (what every core entity
-- uses as its primary key) until a real definition is registered. Each
-- registered schema also records who references it (`constraints`).
local _M = {}

local pairs = pairs
local require = require

local CORE = {
    services = true, routes = true, consumers = true, plugins = true, upstreams = true,
    targets = true, certificates = true, ca_certificates = true, snis = true,
    consumer_groups = true, keys = true, key_sets = true, vaults = true,
    workspaces = true, filter_chains = true,
}

local schemas = {}
local constraints = {}

function _M.register(schema)
    local name = schema.name
    if name then
        schemas[name] = schema
        constraints[name] = constraints[name] or {}
    end
end

function _M.get(name)
    local schema = schemas[name]
    if schema or not CORE[name] then
        return schema
    end
    schema = require("kong.db.schema").new({
        name = name,
        primary_key = { "id" },
        fields = { { id = { type = "string", uuid = true, auto = true } } },
    })
    return schema
end

function _M.is_registered(name)
    return schemas[name] ~= nil
end

-- `child` (a schema) references `reference` through its field `field_name`.
function _M.add_constraint(reference, child, field_name, on_delete)
    local list = constraints[reference]
    if not list then
        list = {}
        constraints[reference] = list
    end
    list[child.name] = { schema = child, field_name = field_name, on_delete = on_delete }
end

-- The schemas referencing `name`, as an array of
-- { schema = ..., field_name = ..., on_delete = ... }.
function _M.constraints(name)
    local out = {}
    for _, c in pairs(constraints[name] or {}) do
        out[#out + 1] = c
    end
    return out
end

-- For tests: forget every registration.
function _M.reset()
    schemas = {}
    constraints = {}
end

return _M
