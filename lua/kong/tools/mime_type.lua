-- kong.tools.mime_type: media types as Kong reads them (RFC 2045):
-- `type/subtype` or `*`, then `; attribute=value` parameters, the value a
-- token or a quoted string. Nothing is lower-cased and nothing else is
-- accepted: "application/xml;" or "text/plain; charset" is no media type.
local match = string.match
local sub = string.sub
local find = string.find

local _M = {}

-- a token: US-ASCII, no control character, no separator
local TOKEN = "[^%c()<>@,;:\\\"/%[%]?={} \t\128-\255]+"
local TYPES = "^(" .. TOKEN .. ")/(" .. TOKEN .. ")()"
local PARAM = "^[ \t]*;[ \t]*(" .. TOKEN .. ")=(" .. TOKEN .. ")()"
local QUOTED_PARAM = "^[ \t]*;[ \t]*(" .. TOKEN .. ")=\"([^\"%c]*)\"()"

-- "application/json; charset=utf-8" -> "application", "json", { charset = "utf-8" };
-- nil for what does not parse
function _M.parse_mime_type(s)
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

-- Whether media type `this` ({type, subtype}) includes `other`: `*/*`
-- everything, the same type with the same subtype or `*`, and a subtype
-- without suffix includes the subtypes it is the suffix of
-- (application/json includes application/problem+json).
function _M.includes(this, other)
    if this.type == "*" then
        return true
    end
    if this.type ~= other.type then
        return false
    end
    if this.subtype == other.subtype or this.subtype == "*" then
        return true
    end
    if not find(this.subtype, "+", 1, true) then
        local plus = find(other.subtype, "+", 1, true)
        return plus ~= nil and sub(other.subtype, plus + 1) == this.subtype
    end
    return false
end

return _M
