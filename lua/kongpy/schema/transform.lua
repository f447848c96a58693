-- Transformations: functions a schema runs on write (`on_write`) or read
-- (`on_read`), fed either the whole entity or the fields listed in `input`
-- and `needs` (all of them non-empty, else the transformation is skipped).
-- Their results are merged into the entity field by field, records deeply.
local msg = require("kongpy.schema.messages")
local util = require("kongpy.schema.util")
local field_mod = require("kongpy.schema.field")
local get_subschema = require("kongpy.schema.validate").get_subschema

local null = ngx.null

local type = type
local pairs = pairs
local unpack = unpack

local get_field = util.get_field
local is_nonempty = util.is_nonempty

local _M = {}

-- `top` wins; records merge recursively, arrays are replaced whole.
function _M.merge_values(self, top, bottom)
    local out = {}
    if bottom == nil or bottom == null then
        bottom = {}
    end
    for k, v in pairs(bottom) do
        out[k] = v
    end
    for k, v in pairs(top) do
        out[k] = v
    end
    for key, field in self:each_field(bottom) do
        local value = top[key]
        if value == nil then
            out[key] = bottom[key]
        elseif field.type == "record" and not field.abstract and type(value) == "table" then
            local schema = field_mod.record_schema(field)
            out[key] = _M.merge_values(schema, value, bottom[key])
        else
            out[key] = value
        end
    end
    return out
end

local function transform_args(input, original, output, t)
    local args, n = {}, 0
    local names = t.input or {}
    for i = 1, #names do
        local value = get_field(output or original or input, names[i])
        if not is_nonempty(value) then
            return nil
        end
        n = n + 1
        args[n] = original and get_field(output or input, names[i]) or value
    end
    local needs = t.needs or {}
    for i = 1, #needs do
        local value = get_field(output or input, needs[i])
        if not is_nonempty(value) then
            return nil
        end
        n = n + 1
        args[n] = value
    end
    return args, n
end

local function run(self, list, input, original, context)
    local output
    for i = 1, #list do
        local t = list[i]
        local fn = context == "select" and t.on_read or t.on_write
        if fn then
            local data, err
            if t.input or t.needs then
                local args, n = transform_args(input, original, output, t)
                if args then
                    data, err = fn(unpack(args, 1, n))
                end
            else
                data, err = fn(output or input)
            end
            if err then
                return nil, msg.TRANSFORMATION_ERROR:format(err)
            end
            if data then
                output = _M.merge_values(self, data, output or input)
            end
        end
    end
    return output or input
end

function _M.has_transformations(self, input)
    if self.transformations then
        return true
    end
    local subschema = get_subschema(self, input)
    return (subschema and subschema.transformations) and true or false
end

-- The transformed entity, or nil and "transformation failed: ...".
function _M.transform(self, input, original, context)
    local output, err
    if self.transformations then
        output, err = run(self, self.transformations, input, original, context)
        if not output then
            return nil, err
        end
    end
    local subschema = get_subschema(self, input)
    if subschema and subschema.transformations then
        output, err = run(subschema, subschema.transformations, output or input, original,
                          context)
        if not output then
            return nil, err
        end
    end
    return output or input
end

return _M
