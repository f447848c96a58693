-- Media types as Kong's proxy-cache reads them (kong.tools.mime_type, RFC
-- 2045): `type/subtype` or `*`, then `; attribute=value` parameters, the
-- value a token or a quoted string. Nothing is lower-cased and nothing else
-- is accepted: "application/xml;" or "text/plain; charset" is no media type,
-- so a configured one never matches (Kong's quirk, kept: an answer whose
-- type does not parse still matches `*/*`).
local match = string.match
local sub = string.sub
local pairs = pairs
local setmetatable = setmetatable

local _M = {}

-- a token: US-ASCII, no control character, no separator
local TOKEN = "[^%c()<>@,;:\\\"/%[%]?={} \t\128-\255]+"
local TYPES = "^(" .. TOKEN .. ")/(" .. TOKEN .. ")()"
local PARAM = "^[ \t]*;[ \t]*(" .. TOKEN .. ")=(" .. TOKEN .. ")()"
local QUOTED_PARAM = "^[ \t]*;[ \t]*(" .. TOKEN .. ")=\"([^\"%c]*)\"()"

-- "application/json; charset=utf-8" -> "application", "json", { charset = "utf-8" };
-- nil for what does not parse
function _M.parse(s)
    local t, st, pos = match(s, TYPES)
    if not t then
        if sub(s, 1, 1) ~= "*" then
            return nil
        end
        t, st, pos = "*", "*", 2
    end
    local params
    local n = #s
    while pos <= n do
        local k, v, nxt = match(s, PARAM, pos)
        if not k then
            k, v, nxt = match(s, QUOTED_PARAM, pos)
            if not k then
                return nil
            end
        end
        params = params or {}
        params[k] = v
        pos = nxt
    end
    return t, st, params
end

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
            local t, st, params = _M.parse(types[i])
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
    local t, st, params = _M.parse(content_type)
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
