-- kong.db.schema.entity: schemas of stored entities. On top of Schema.new
-- it refuses nilable fields, function fields and maps keyed by anything but
-- strings, and makes records required unless they say otherwise, so an
-- entity always shows its records' full structure (plugin configs
-- included: Entity.new_subschema does the same for each plugin's schema).
local Schema = require("kong.db.schema")

local type = type
local ipairs = ipairs
local next = next

local ERR_NILABLE = "%s: Entities cannot have nilable types."
local ERR_FUNCTION = "%s: Entities cannot have function types."
local ERR_MAP_KEYS = "%s: Entities map keys must be strings."

local Entity = {}

local function make_records_required(field)
    if field.required == nil then
        field.required = true
    end
    for _, item in ipairs(field.fields or {}) do
        local _, f = next(item)
        if type(f) == "table" and f.type == "record" then
            make_records_required(f)
        end
    end
end

function Entity.new_subschema(schema, key, definition)
    make_records_required(definition)
    definition.required = nil
    return Schema.new_subschema(schema, key, definition)
end

function Entity.new(definition)
    local self, err = Schema.new(definition)
    if not self then
        return nil, err
    end
    for name, field in self:each_field() do
        if field.nilable then
            return nil, ERR_NILABLE:format(name)
        end
        if not field.abstract then
            if field.type == "map" then
                if (field.keys or {}).type ~= "string" then
                    return nil, ERR_MAP_KEYS:format(name)
                end
            elseif field.type == "record" then
                make_records_required(field)
            elseif field.type == "function" then
                return nil, ERR_FUNCTION:format(name)
            end
        end
    end
    self.new_subschema = Entity.new_subschema
    return self
end

return Entity
