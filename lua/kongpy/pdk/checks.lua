-- Argument checks shared by the PDK's header setters, with Kong's messages.
local type = type
local error = error
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local format = string.format

local _M = {}

-- A header value as nginx takes it: strings as they are, numbers and
-- booleans as strings, arrays element by element. An empty string becomes
-- one space, as in Kong: nginx would drop the header instead of sending it
-- empty (acl's X-Consumer-Groups for a consumer without groups).
local function one(v)
    if v == "" then
        return " "
    end
    return type(v) == "string" and v or tostring(v)
end

function _M.normalize(value)
    if type(value) == "table" then
        local out = {}
        for i, v in ipairs(value) do
            out[i] = one(v)
        end
        return out
    end
    return one(value)
end

-- Raises (at the PDK function's caller) unless `name` and `value` make a header.
function _M.header(name, value)
    local tn = type(name)
    if tn ~= "string" then
        error(format("invalid header name %q: got %s, expected string", tostring(name), tn), 3)
    end
    local tv = type(value)
    if tv == "table" then
        for _, v in ipairs(value) do
            local t = type(v)
            if t ~= "string" and t ~= "number" and t ~= "boolean" then
                error(format("invalid header value in array %q: got %s, expected string",
                             name, t), 3)
            end
        end
    elseif tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
        error(format("invalid header value for %q: got %s, expected array of string, "
                     .. "string, number or boolean", name, tv), 3)
    end
end

-- limit(name, n, default, max): Kong's bounds on max_headers/max_args
-- (1 to 1000), raised at the PDK function's caller; `default` when nil.
function _M.limit(name, n, default, max)
    if n == nil then
        return default
    end
    if type(n) ~= "number" then
        error(name .. " must be a number", 3)
    elseif n < 1 then
        error(name .. " must be >= 1", 3)
    elseif n > (max or 1000) then
        error(name .. " must be <= " .. (max or 1000), 3)
    end
    return n
end

function _M.headers(headers)
    if type(headers) ~= "table" then
        error(format("headers must be a table, got %s", type(headers)), 3)
    end
    for name, value in pairs(headers) do
        _M.header(name, value)
    end
end

return _M
