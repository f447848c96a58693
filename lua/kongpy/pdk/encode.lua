-- Request bodies and query strings the way Kong's kong.service.request
-- encodes them: arguments sorted, multipart parts by name.
local cjson = require("cjson.safe")
local util = require("kongpy.schema.util")
local schema_encode = require("kongpy.schema.encode")

local ngx = ngx
local encode_args = ngx.encode_args
local array_mt = util.array_mt

local type = type
local error = error
local pairs = pairs
local ipairs = ipairs
local next = next
local getmetatable = getmetatable
local pcall = pcall
local tostring = tostring
local find = string.find
local random = math.random
local sort = table.sort
local concat = table.concat

local MULTIPART = "multipart/form-data"

local _M = {}

-- Kong's ordering: each argument encoded on its own, then sorted.
function _M.ordered_args(args)
    local out = {}
    local one = {}
    for k, v in pairs(args) do
        if type(k) ~= "string" then
            return nil, "arg keys must be strings"
        end
        one[k] = v
        local ok, s = pcall(encode_args, one)
        one[k] = nil
        if not ok then
            return nil, s
        end
        out[#out + 1] = s
    end
    sort(out)
    return concat(out, "&")
end

-- multipart(args, mime): the body and its Content-Type (the boundary of
-- `mime` kept unless a value contains it).
function _M.multipart(args, mime)
    local boundary = mime:match('boundary="([^"]+)"') or mime:match("boundary=([^;%s]+)")
    local keys = {}
    for k, v in pairs(args) do
        if type(k) ~= "string" then
            error(("invalid key %q: got %s, expected string"):format(tostring(k), type(k)), 3)
        end
        local tv = type(v)
        if tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
            error(("invalid value %q: got %s, expected string, number or boolean")
                  :format(k, tv), 3)
        end
        keys[#keys + 1] = k
        if boundary and find(tostring(v), "\n--" .. boundary, 1, true) then
            boundary = nil
        end
    end
    boundary = boundary or tostring(random(1e10))
    sort(keys)
    local out = {}
    for _, k in ipairs(keys) do
        out[#out + 1] = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. k
                        .. "\"\r\n\r\n" .. tostring(args[k]) .. "\r\n"
    end
    out[#out + 1] = "--" .. boundary .. "--\r\n"
    return concat(out), MULTIPART .. "; boundary=" .. boundary
end

-- Whether `t` holds a table marked as an array that cjson would not write
-- as one: an empty one (Kong's empty JSON arrays, e.g.
-- kong.request.get_uri_captures().unnamed) or one with a [0] (the whole
-- match among those captures, which Kong's cjson leaves out).
local function has_empty_array(t)
    for _, v in pairs(t) do
        if type(v) == "table" then
            if getmetatable(v) == array_mt and (next(v) == nil or v[0] ~= nil) then
                return true
            elseif has_empty_array(v) then
                return true
            end
        end
    end
    return false
end

-- A response body as JSON: cjson, unless an empty array must stay one
-- (Debian's cjson has no array_mt); then the schema encoder, which honours
-- the marker.
function _M.json(body)
    if getmetatable(body) ~= array_mt and not has_empty_array(body) then
        return cjson.encode(body)
    end
    return schema_encode.encode(body)
end

return _M
