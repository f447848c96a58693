-- Edits of name -> value(s) tables (headers, query arguments, form fields)
-- that the transformer plugins share. A name with several values holds a
-- list of them.
local type = type
local insert = table.insert

local _M = {}

-- `current` (nil, a value or a list of values) with `value` appended.
function _M.append(current, value)
    local t = type(current)
    if t == "string" then
        return { current, value }
    elseif t == "table" then
        insert(current, value)
        return current
    end
    return { value }
end

-- Moves the value(s) of `old_name` to `new_name`; whether anything moved.
function _M.rename(tbl, old_name, new_name)
    if old_name == new_name then
        return false
    end
    local value = tbl[old_name]
    if value then
        tbl[old_name] = nil
        tbl[new_name] = value
        return true
    end
    return false
end

return _M
