-- Single-field validators, run by validate_field in Kong's order. Each one
-- takes (value, argument, field) and returns true or nil plus an optional
-- message; without a message the caller uses the validator's own (UUID,
-- TIMESTAMP, IS_REGEX, ...) or "failed validating". Plugins reach these as
-- require("kong.db.schema").validators (cors uses is_regex).
local msg = require("kongpy.schema.messages")
local quoted_list = require("kongpy.schema.util").quoted_list

local null = ngx.null
local re_match = ngx.re.match

local type = type
local pairs = pairs
local tostring = tostring
local match = string.match
local sub = string.sub
local concat = table.concat

local UUID_PATTERN = "^" .. ("%x"):rep(8) .. "%-" .. ("%x"):rep(4) .. "%-" .. ("%x"):rep(4)
    .. "%-" .. ("%x"):rep(4) .. "%-" .. ("%x"):rep(12) .. "$"

local _M = {}

-- Kong's order: cheap equality first, then type-specific checks, the
-- string patterns, array membership, and custom code last.
_M.ORDER = {
    "eq", "ne", "not_one_of", "one_of",
    "gt", "timestamp", "uuid", "is_regex", "between",
    "len_eq", "len_min", "len_max",
    "starts_with", "not_match", "match_none", "match", "match_all", "match_any",
    "contains",
    "custom_validator", "mutually_exclusive_subsets",
}

local checks = {}
_M.checks = checks

local function length(value, field)
    local len = #value
    if field and field.type == "map" then
        -- Kong counts the entries on top of the array part
        for _ in pairs(value) do
            len = len + 1
        end
    end
    return len
end

function checks.between(value, limits)
    if value < limits[1] or value > limits[2] then
        return nil, msg.BETWEEN:format(limits[1], limits[2])
    end
    return true
end

function checks.eq(value, wanted)
    if value == wanted then
        return true
    end
    return nil, msg.EQ:format(wanted == null and "null" or tostring(wanted))
end

function checks.ne(value, wanted)
    if value ~= wanted then
        return true
    end
    return nil, msg.NE:format(wanted == null and "null" or tostring(value))
end

function checks.gt(value, limit)
    if value > limit then
        return true
    end
    return nil, msg.GT:format(tostring(limit))
end

function checks.len_eq(value, n, field)
    if length(value, field) == n then
        return true
    end
    return nil, msg.LEN_EQ:format(n)
end

function checks.len_min(value, n, field)
    if length(value, field) >= n then
        return true
    end
    return nil, msg.LEN_MIN:format(n)
end

function checks.len_max(value, n, field)
    if length(value, field) <= n then
        return true
    end
    return nil, msg.LEN_MAX:format(n)
end

function checks.match(value, pattern)
    if not match(value, pattern) then
        return nil, msg.MATCH:format(value)
    end
    return true
end

function checks.not_match(value, pattern)
    if match(value, pattern) then
        return nil, msg.NOT_MATCH:format(value)
    end
    return true
end

function checks.match_all(value, list)
    for i = 1, #list do
        if not match(value, list[i].pattern) then
            return nil, list[i].err
        end
    end
    return true
end

function checks.match_none(value, list)
    for i = 1, #list do
        if match(value, list[i].pattern) then
            return nil, list[i].err
        end
    end
    return true
end

function checks.match_any(value, arg)
    local patterns = arg.patterns
    for i = 1, #patterns do
        if match(value, patterns[i]) then
            return true
        end
    end
    return nil, arg.err
end

-- Compiled the way the router compiles: an error means PCRE refused it.
function checks.is_regex(value)
    if type(value) ~= "string" then
        return nil
    end
    local _, err = re_match("any string", value)
    return err == nil
end

function checks.starts_with(value, expected)
    if sub(value, 1, #expected) ~= expected then
        return nil, msg.STARTS_WITH:format(expected)
    end
    return true
end

local function join(options)
    local out = {}
    for i = 1, #options do
        out[i] = tostring(options[i])
    end
    return concat(out, ", ")
end

function checks.one_of(value, options)
    for i = 1, #options do
        if value == options[i] then
            return true
        end
    end
    return nil, msg.ONE_OF:format(join(options))
end

function checks.not_one_of(value, options)
    for i = 1, #options do
        if value == options[i] then
            return nil, msg.NOT_ONE_OF:format(join(options))
        end
    end
    return true
end

function checks.timestamp(value)
    return value > 0 or nil
end

function checks.uuid(value)
    if #value ~= 36 then
        return nil
    end
    return match(value, UUID_PATTERN) and true or nil
end

function checks.contains(array, wanted)
    for i = 1, #array do
        if array[i] == wanted then
            return true
        end
    end
    return nil, msg.CONTAINS:format(tostring(wanted))
end

-- At most one of the listed subsets may have members in the value.
function checks.mutually_exclusive_subsets(value, subsets)
    local owner = {}
    for i = 1, #subsets do
        local subset = subsets[i]
        for j = 1, #subset do
            owner[subset[j]] = subset
        end
    end
    local seen, used = {}, {}
    for i = 1, #value do
        local subset = owner[value[i]]
        if subset and not seen[subset] then
            seen[subset] = true
            used[#used + 1] = subset
        end
    end
    if #used <= 1 then
        return true
    end
    return nil, msg.MUTUALLY_EXCLUSIVE_SETS:format(quoted_list(used))
end

function checks.custom_validator(value, fn)
    return fn(value)
end

-- Runs the validators a field declares; `len_min` defaults to 1 for strings
-- (Kong rejects empty strings unless a field allows them).
function _M.run(field, value)
    local order = _M.ORDER
    for i = 1, #order do
        local name = order[i]
        local arg = field[name]
        if arg == nil and name == "len_min" and field.type == "string" then
            arg = 1
        end
        if arg ~= nil then
            local ok, err = checks[name](value, arg, field)
            if not ok then
                if not err then
                    err = (msg[name:upper()] or msg.VALIDATION):format(tostring(value))
                end
                return nil, field.err or err
            end
        end
    end
    return true
end

return _M
