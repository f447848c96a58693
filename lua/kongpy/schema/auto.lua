-- process_auto_fields: what Kong does to an entity before validating or
-- after reading it, by CRUD context. On "insert"/"upsert": shorthands are
-- expanded, `auto` uuids, strings and timestamps generated, defaults filled
-- (a missing optional field becomes null). On "update": only what was given
-- is touched (updated_at refreshed). On "select": nulls become nil unless
-- asked for, defaults fill required fields stored as null, unknown keys go.
local util = require("kongpy.schema.util")
local field_mod = require("kongpy.schema.field")
local shorthand = require("kongpy.schema.shorthand")
local random = require("kongpy.schema.random")

local ngx = ngx
local null = ngx.null
local ngx_now = ngx.now
local ngx_time = ngx.time
local update_time = ngx.update_time

local type = type
local pairs = pairs
local setmetatable = setmetatable
local getmetatable = getmetatable
local floor = math.floor

local deep_copy = util.deep_copy
local ARRAY_MT = util.array_mt
local is_sequence = util.is_sequence
local record_schema = field_mod.record_schema

local _M = {}

-- Sets answer membership lookups (set["x"]) besides holding their elements.
local members = setmetatable({}, { __mode = "k" })
local SET_MT = {
    __index = function(t, key)
        local set = members[t]
        return set and set[key]
    end,
}

local function make_array(t)
    if is_sequence(t) then
        return setmetatable(t, ARRAY_MT)
    end
    return t
end

-- Duplicates go; the first occurrence keeps its place.
local function make_set(t)
    if not is_sequence(t) then
        return t
    end
    if #t == 0 then
        return setmetatable(t, ARRAY_MT)
    end
    local out, seen = {}, {}
    for i = 1, #t do
        local v = t[i]
        if not seen[v] then
            seen[v] = true
            out[#out + 1] = v
        end
    end
    members[out] = seen
    return setmetatable(out, SET_MT)
end

local function handle_missing(field, value, opts)
    if field.default ~= nil and not (opts and opts.no_defaults) then
        local copy = deep_copy(field.default)
        if (field.type == "array" or field.type == "set") and type(copy) == "table"
           and not getmetatable(copy) then
            setmetatable(copy, ARRAY_MT)
        end
        return copy
    end
    if field.nilable then
        return value
    end
    if field.required ~= true then
        return null
    end
    if field.abstract then
        return nil
    end
    if field.type == "record" then
        local schema = record_schema(field)
        return schema and schema:process_auto_fields({}, "insert")
    end
    return nil
end

local function should_recurse_record(context, value, field)
    if context == "update" then
        return value ~= null and value ~= nil
    end
    return value ~= null and (value ~= nil or field.required == true)
end

local function adjust(field, value, context, nulls, opts)
    if context == "select" and value == null and field.required == true then
        return handle_missing(field, value, opts)
    end
    if field.abstract then
        return value
    end
    local ftype = field.type
    if ftype == "record" then
        if should_recurse_record(context, value, field) then
            if value == nil then
                value = handle_missing(field, value, opts)
            end
            if type(value) == "table" then
                local schema, err = record_schema(field)
                if not schema then
                    return nil, err
                end
                return schema:process_auto_fields(value, context, nulls, opts)
            end
        end
    elseif type(value) == "table" then
        local sub
        if ftype == "array" then
            value, sub = make_array(value), field.elements
        elseif ftype == "set" then
            value, sub = make_set(value), field.elements
        elseif ftype == "map" then
            sub = field.values
        end
        if sub then
            -- pairs, not ipairs: arrays may have holes here
            for k, v in pairs(value) do
                value[k] = adjust(sub, v, context, nulls, opts)
            end
        end
    end
    if value == nil and context ~= "update" then
        return handle_missing(field, value, opts)
    end
    return value
end

local function auto_value(key, field, value, context, clock)
    local insertish = context == "insert" or context == "upsert"
    if field.uuid then
        if insertish and value == nil then
            return random.uuid()
        end
    elseif field.type == "string" then
        if insertish and value == nil then
            return random.random_string()
        end
    elseif (key == "created_at" and insertish and (value == nil or value == null))
        or (key == "updated_at" and (insertish or context == "update")) then
        if not clock.s then
            update_time()
            clock.s, clock.ms = ngx_time(), ngx_now()
        end
        if field.type == "number" then
            return clock.ms
        elseif field.type == "integer" then
            return clock.s
        end
    end
    return value
end

-- Drops what a read must not show: unknown keys, empty strings of fields
-- that refuse them, ttl nulls.
local function clean_read(self, data, nulls, opts)
    if self.ttl and data.ttl == null and not nulls then
        data.ttl = nil
    end
    local show_ws = opts and opts.show_ws_id
    for key in pairs(data) do
        local field = type(key) == "string" and self.fields[key]
        if field then
            if field.type == "string" and (field.len_min or 1) > 0 and data[key] == "" then
                data[key] = nulls and null or nil
            end
        elseif not ((key == "ttl" and self.ttl) or (key == "ws_id" and show_ws)
                    or shorthand.shown_on_read(self, key)) then
            data[key] = nil
        end
    end
    return data
end

-- data, nil, check_immutable (insert/update/upsert: a new table) or data
-- (select: changed in place); nil and errors when a shorthand is invalid.
function _M.process_auto_fields(self, data, context, nulls, opts)
    if type(data) ~= "table" then
        return data
    end
    local is_select = context == "select"
    if not is_select then
        data = deep_copy(data)
    end
    local errs
    data, errs = shorthand.expand(self, data, is_select, opts)
    if not data then
        return nil, errs
    end
    local check_immutable = false
    local clock = {}
    for key, field in self:each_field(data) do
        local value = data[key]
        if not is_select and field.auto then
            value = auto_value(key, field, value, context, clock)
        end
        local err
        value, err = adjust(field, value, context, nulls, opts)
        if err then
            return nil, err
        end
        if is_select then
            if value == null and not nulls then
                value = nil
            elseif field.type == "integer" and type(value) == "number" then
                value = floor(value)
            end
        elseif context == "update" and field.immutable then
            check_immutable = true
        end
        data[key] = value
    end
    if not is_select then
        return data, nil, check_immutable
    end
    return clean_read(self, data, nulls, opts)
end

return _M
