-- Media types as Kong's proxy-cache compares them (kong.tools.mime_type):
-- nothing is lower-cased, and a type that does not parse
-- ("application/xml;", "text/plain; charset") is no media type, so a
-- configured one never matches (Kong's quirk, kept: an answer whose type
-- does not parse still matches `*/*`).
local mime_type = require("kong.tools.mime_type")

local pairs = pairs
local setmetatable = setmetatable

local _M = {}

local parse = mime_type.parse_mime_type

local EMPTY = {}

local function same_params(a, b)
    a, b = a or EMPTY, b or EMPTY
    for k, v in pairs(a) do
        if b[k] ~= v then
            return false
        end
    end
    for k in pairs(b) do
        if a[k] == nil then
            return false
        end
    end
    return true
end

-- the configured types parsed once per configuration (conf tables are
-- rebuilt with each configuration version)
local parsed = setmetatable({}, { __mode = "k" })

local function wanted_of(conf)
    local list = parsed[conf]
    if not list then
        list = {}
        local types = conf.content_type
        for i = 1, #types do
            local t, st, params = parse(types[i])
            if t then
                list[#list + 1] = { t, st, params }
            end
        end
        parsed[conf] = list
    end
    return list
end

-- whether the answer's Content-Type is one of conf.content_type: types
-- compared as written (`*` matches any), parameters all equal
function _M.matches(conf, content_type)
    local t, st, params = parse(content_type)
    local wanted = wanted_of(conf)
    for i = 1, #wanted do
        local w = wanted[i]
        if (w[1] == "*" or w[1] == t) and (w[2] == "*" or w[2] == st)
           and same_params(params, w[3]) then
            return true
        end
    end
    return false
end

return _M
