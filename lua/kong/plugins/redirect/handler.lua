-- redirect (Kong 3.9): ends the request with `status_code`, the body
-- "redirecting" and `Location: <location>`. With `keep_incoming_path`, the
-- location's path and query are replaced by the request's (its normalised
-- path, its raw query; no query when the request has none), its scheme,
-- authority and fragment kept, as Kong's URL parser (ada) rebuilds it.
local kong = kong
local meta = require("kong.meta")

local byte = string.byte
local find = string.find
local format = string.format
local gsub = string.gsub
local lower = string.lower
local match = string.match
local sub = string.sub
local setmetatable = setmetatable

local BODY = "redirecting"

local RedirectHandler = {
    PRIORITY = 779,
    VERSION = meta.version,
}

-- what the WHATWG path percent-encode set adds to controls and non-ASCII
local PATH_UNSAFE = "[%z\1-\32\"#<>?`{}\127-\255]"

local function escape(c)
    return format("%%%02X", byte(c))
end

-- the location split once per configuration: scheme://authority and #fragment
local parts = setmetatable({}, {
    __mode = "k",
    __index = function(self, conf)
        local location = conf.location
        local hash = find(location, "#", 1, true)
        local fragment = hash and sub(location, hash) or ""
        local scheme, authority = match(location, "^([%a][%w+.-]*)://([^/?#]*)")
        local origin
        if scheme then
            -- the host is case-insensitive (ada lowercases it), userinfo is not
            local userinfo, host = match(authority, "^(.*@)(.*)$")
            origin = lower(scheme) .. "://" .. (userinfo or "") .. lower(host or authority)
        end
        local p = {
            origin = origin,
            fragment = fragment,
        }
        self[conf] = p
        return p
    end,
})

local function location_of(conf)
    local p = parts[conf]
    if not p.origin then
        return conf.location
    end
    local path = gsub(kong.request.get_path(), PATH_UNSAFE, escape)
    local query = kong.request.get_raw_query()
    if query ~= "" then
        path = path .. "?" .. query
    end
    return p.origin .. path .. p.fragment
end

function RedirectHandler:access(conf)
    local location = conf.location
    if conf.keep_incoming_path then
        location = location_of(conf)
    end
    return kong.response.exit(conf.status_code, BODY, { ["Location"] = location })
end

return RedirectHandler
