-- A schema as the Admin API shows it (GET /schemas/{entity},
-- GET /schemas/plugins/{name}): Kong 3.9's api_helpers conversion. Fields
-- stay an array of single-key objects in declaration order, functions are
-- dropped, empty tables and number-keyed tables become JSON arrays, NaN and
-- infinities become strings, and the schema's entity_checks come along
-- (an empty array when it has none). Also `describe`: the facts a storage
-- layer needs about an entity.
local util = require("kongpy.schema.util")

local null = ngx.null

local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local setmetatable = setmetatable
local unpack = unpack
local huge = math.huge

local array_mt = util.array_mt

local _M = {}

local fdata_to_jsonable

local function fields_to_jsonable(fields)
    local out = {}
    for _, item in ipairs(fields) do
        local name, def = next(item)
        out[#out + 1] = { [name] = fdata_to_jsonable(def, "no") }
    end
    return setmetatable(out, array_mt)
end

local function number_to_jsonable(v)
    if v ~= v then
        return "nan"
    elseif v == huge then
        return "inf"
    elseif v == -huge then
        return "-inf"
    end
    return v
end

-- `shape` is "yes" (an array), "no" (an object) or "maybe" (an array
-- unless a non-number key shows up).
fdata_to_jsonable = function(fdata, shape)
    local out = {}
    local iter = shape == "yes" and ipairs or pairs
    for k, v in iter(fdata) do
        if shape == "maybe" and type(k) ~= "number" then
            shape = "no"
        end
        local t = type(v)
        if k == "schema" and t == "table" then
            out[k] = _M.schema_to_jsonable(v)
        elseif t == "table" then
            if k == "fields" and fdata.type == "record" then
                out[k] = fields_to_jsonable(v)
            elseif k == "default" and fdata.type == "array" then
                out[k] = fdata_to_jsonable(v, "yes")
            else
                out[k] = fdata_to_jsonable(v, "maybe")
            end
        elseif t == "number" then
            out[k] = number_to_jsonable(v)
        elseif t ~= "function" then
            out[k] = v
        end
    end
    if shape == "yes" or shape == "maybe" then
        setmetatable(out, array_mt)
    end
    return out
end

-- { fields = [...], entity_checks = [...] }; foreign fields lose any
-- resolved schema, as the Admin API strips them.
function _M.schema_to_jsonable(schema)
    local fields = fields_to_jsonable(schema.fields)
    for _, item in ipairs(fields) do
        local _, def = next(item)
        if def.type == "foreign" then
            def.schema = nil
        end
    end
    local checks = fdata_to_jsonable(schema.entity_checks or {}, "yes")
    return { fields = fields, entity_checks = checks }
end

local function list(t)
    return setmetatable(t, array_mt)
end

local function field_facts(name, field)
    local facts = { name = name, type = field.type }
    for _, attr in ipairs({ "required", "unique", "auto", "immutable", "encrypted",
                            "referenceable", "legacy", "indexed", "unique_across_ws" }) do
        if field[attr] then
            facts[attr] = true
        end
    end
    if field.uuid then
        facts.uuid = true
    end
    if field.timestamp then
        facts.timestamp = true
    end
    if field.type == "foreign" then
        facts.reference = field.reference
        facts.on_delete = field.on_delete or "restrict"
    end
    if field.default ~= nil and type(field.default) ~= "function" then
        facts.default = field.default == null and null or field.default
    end
    return facts
end

-- Everything a DAO or a migration needs: keys, uniqueness, foreign keys
-- and their delete rules, ttl and the Admin API naming. Arrays are JSON
-- arrays, absent names are null.
function _M.describe(schema)
    local out = {
        name = schema.name or null,
        primary_key = list({ unpack(schema.primary_key or {}) }),
        endpoint_key = schema.endpoint_key or null,
        cache_key = schema.cache_key and list({ unpack(schema.cache_key) }) or null,
        ttl = schema.ttl == true,
        workspaceable = schema.workspaceable == true,
        generate_admin_api = schema.generate_admin_api ~= false,
        admin_api_name = schema.admin_api_name or null,
        admin_api_nested_name = schema.admin_api_nested_name or null,
        db_export = schema.db_export ~= false,
        dao = schema.dao or null,
        subschema_key = schema.subschema_key or null,
        unique = list({}),
        foreign = list({}),
        fields = list({}),
    }
    for name, field in schema:each_field() do
        local facts = field_facts(name, field)
        out.fields[#out.fields + 1] = facts
        if field.unique then
            out.unique[#out.unique + 1] = name
        end
        if field.type == "foreign" then
            out.foreign[#out.foreign + 1] = {
                field = name,
                reference = field.reference,
                on_delete = facts.on_delete,
                required = field.required == true,
            }
        end
    end
    return out
end

return _M
