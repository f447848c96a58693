-- kong.tools.table: the table helpers Kong 3.9 plugins require by this
-- module path (same names, arguments and results).
local isarray = require("table.isarray")
local clone = require("table.clone")

local type = type
local next = next
local pairs = pairs
local ipairs = ipairs
local select = select
local tostring = tostring
local unpack = unpack
local setmetatable = setmetatable
local getmetatable = getmetatable
local error = error
local floor = math.floor

local _M = {}

-- pack(...): the arguments with `n` set, so trailing nils are kept.
function _M.pack(...)
    return { n = select("#", ...), ... }
end

-- unpack(t, i, j): honours t.n when set.
function _M.unpack(t, i, j)
    return unpack(t, i or 1, j or t.n or #t)
end

-- A new table with the keys of t1, then those of t2 (not recursive).
function _M.table_merge(t1, t2)
    local res = {}
    if t1 then
        for k, v in pairs(t1) do
            res[k] = v
        end
    end
    if t2 then
        for k, v in pairs(t2) do
            res[k] = v
        end
    end
    return res
end

function _M.table_contains(arr, val)
    if arr then
        for _, v in pairs(arr) do
            if v == val then
                return true
            end
        end
    end
    return false
end

local function strict_array(t)
    local max, count = 0, 0
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or floor(k) ~= k then
            return false
        end
        if k > max then
            max = k
        end
        count = count + 1
    end
    return count == max
end

local function lapis_array(t)
    local i = 0
    for _ in pairs(t) do
        i = i + 1
        if t[i] == nil and t[tostring(i)] == nil then
            return false
        end
    end
    return true
end

-- is_array(t, mode): mode "strict" (default: 1..n, no holes), "fast"
-- (any integer keys) or "lapis" (string digits count as indexes).
function _M.is_array(t, mode)
    if type(t) ~= "table" then
        return false
    end
    if mode == "lapis" then
        return lapis_array(t)
    elseif mode == "fast" then
        return isarray(t)
    end
    return strict_array(t)
end

function _M.is_lapis_array(t)
    return type(t) == "table" and lapis_array(t)
end

-- deep_copy(orig, copy_mt): keys, values and (unless copy_mt is false)
-- metatables copied.
function _M.deep_copy(orig, copy_mt)
    if type(orig) ~= "table" then
        return orig
    end
    if copy_mt == nil then
        copy_mt = true
    end
    local copy = {}
    for k, v in next, orig, nil do
        copy[_M.deep_copy(k)] = _M.deep_copy(v, copy_mt)
    end
    if copy_mt then
        setmetatable(copy, _M.deep_copy(getmetatable(orig)))
    end
    return copy
end

-- shallow_copy(orig): the top level only, no metatable.
function _M.shallow_copy(orig)
    if type(orig) == "table" then
        return clone(orig)
    end
    return orig
end

function _M.deep_merge(t1, t2)
    local res = _M.deep_copy(t1)
    for k, v in pairs(t2) do
        if type(v) == "table" and type(res[k]) == "table" then
            res[k] = _M.deep_merge(res[k], v)
        else
            res[k] = _M.deep_copy(v)
        end
    end
    return res
end

-- cycle_aware_deep_copy(orig, remove_metatables, deep_copy_keys, cache):
-- a table reachable several times is copied once.
function _M.cycle_aware_deep_copy(orig, remove_metatables, deep_copy_keys, cache)
    if type(orig) ~= "table" then
        return orig
    end
    cache = cache or {}
    local seen = cache[orig]
    if seen then
        return seen
    end
    local copy = clone(orig)
    cache[orig] = copy
    for k, v in pairs(orig) do
        if type(v) == "table" then
            copy[k] = _M.cycle_aware_deep_copy(v, remove_metatables, deep_copy_keys, cache)
        end
        if deep_copy_keys and type(k) == "table" then
            local nk = _M.cycle_aware_deep_copy(k, remove_metatables, deep_copy_keys, cache)
            copy[nk] = copy[k]
            copy[k] = nil
        end
    end
    if not remove_metatables then
        local mt = getmetatable(orig)
        if mt then
            setmetatable(copy, mt)
        end
    end
    return copy
end

function _M.cycle_aware_deep_merge(t1, t2, remove_metatables, deep_copy_keys, cache)
    cache = cache or {}
    local merged = _M.cycle_aware_deep_copy(t1, remove_metatables, deep_copy_keys, cache)
    for k, v in pairs(t2) do
        if type(v) == "table" then
            if type(merged[k]) == "table" then
                merged[k] = _M.cycle_aware_deep_merge(merged[k], v, remove_metatables,
                                                      deep_copy_keys, cache)
            else
                merged[k] = _M.cycle_aware_deep_copy(v, remove_metatables, deep_copy_keys,
                                                     cache)
            end
        else
            merged[k] = v
        end
    end
    return merged
end

-- concat(list1, list2, ...): a new array with the elements of each, in order.
function _M.concat(...)
    local out = {}
    for i = 1, select("#", ...) do
        local t = select(i, ...)
        for _, v in ipairs(t) do
            out[#out + 1] = v
        end
    end
    return out
end

local err_list_mt = {}

-- add_error(errors, k, v): a second error under the same key makes a list.
function _M.add_error(errors, k, v)
    errors = errors or {}
    local cur = errors[k]
    if cur ~= nil then
        if getmetatable(cur) ~= err_list_mt then
            cur = setmetatable({ cur }, err_list_mt)
            errors[k] = cur
        end
        cur[#cur + 1] = v
    else
        errors[k] = v
    end
    return errors
end

-- A read-only empty table.
_M.EMPTY = setmetatable({}, {
    __newindex = function()
        error("empty table is read-only", 2)
    end,
    __metatable = false,
})

return _M
