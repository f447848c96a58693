-- Shorthand fields: input-only attributes a schema maps onto its real
-- fields (rate-limiting's legacy `redis_host` becomes `redis.host`). Kong
-- expands them before defaults are filled; on reads, `translate_backwards`
-- shows the real value under the shorthand's name again.
local msg = require("kongpy.schema.messages")
local util = require("kongpy.schema.util")
local validate_field = require("kongpy.schema.field").validate_field

local null = ngx.null

local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local tostring = tostring
local concat = table.concat

local table_path = util.table_path
local deep_equal = util.deep_equal
local merge = util.merge
local null_aware_merge = util.null_aware_merge

local _M = {}

-- A deprecated shorthand given together with the field replacing it must
-- agree with it.
local function check_exclusive(data, value, name, def)
    local dep = def.deprecation
    if value == nil or value == null or dep == nil or dep.replaced_with == nil then
        return true
    end
    for _, target in ipairs(dep.replaced_with) do
        local current
        if target.reverse_mapping_function then
            current = target.reverse_mapping_function(data)
        else
            current = table_path(data, target.path)
        end
        if current ~= nil and current ~= null and not deep_equal(current, value) then
            return nil, msg.SHORTHAND_MISMATCH:format(name, tostring(value),
                                                      concat(target.path or {}, "."),
                                                      tostring(current))
        end
    end
    return true
end

-- A deprecated shorthand never overrides what the real field says; a
-- current one does.
local function apply(data, new_values, deprecated)
    for k, v in pairs(new_values) do
        if type(v) == "table" then
            local source = {}
            if data[k] ~= nil and data[k] ~= null then
                source = data[k]
            end
            data[k] = deprecated and null_aware_merge(v, source) or merge(source, v)
        elseif not deprecated or data[k] == nil or data[k] == null then
            data[k] = v
        end
    end
end

-- `data` is modified in place; nil plus errors by shorthand name when a
-- shorthand value is invalid.
function _M.expand(self, data, is_select, opts)
    local list = self.shorthand_fields
    if not list then
        return data
    end
    local errs
    for i = 1, #list do
        local name, def = next(list[i])
        local value = data[name]
        if value ~= nil then
            local _, err = validate_field(self, def, value)
            if not err then
                _, err = check_exclusive(data, value, name, def)
            end
            if err then
                errs = errs or {}
                errs[name] = err
            else
                data[name] = nil
                local new_values = def.func(value)
                if new_values then
                    apply(data, new_values, def.deprecation ~= nil)
                end
            end
        end
        if is_select and def.translate_backwards and not (opts and opts.hide_shorthands) then
            data[name] = table_path(data, def.translate_backwards)
        end
    end
    if errs then
        return nil, errs
    end
    return data
end

-- Whether `key` is a shorthand shown on reads.
function _M.shown_on_read(self, key)
    local list = self.shorthand_fields
    for i = 1, #(list or {}) do
        local def = list[i][key]
        if def and def.translate_backwards then
            return true
        end
    end
    return false
end

return _M
