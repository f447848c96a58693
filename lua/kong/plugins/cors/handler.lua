-- cors (Kong 3.9): answers preflights, decorates the other responses.
local kong = require("kongpy.pdk")
local lrucache = require("resty.lrucache")

local ngx = ngx
local re_find = ngx.re.find
local get_method = ngx.req.get_method

local type = type
local ipairs = ipairs
local tostring = tostring
local setmetatable = setmetatable
local concat = table.concat
local find = string.find
local sub = string.sub
local match = string.match
local lower = string.lower

local request = kong.request
local response = kong.response

local PREFLIGHT = "kongpy_cors_preflight"
local ALL_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
local LITERAL = [[^[A-Za-z0-9.:/-]+$]]
local DEFAULT_PORTS = { http = "80", https = "443" }

local CorsHandler = {
    PRIORITY = 2000,
    VERSION = "3.9.1",
}

-- per configuration version (conf tables are rebuilt on each one)
local compiled = setmetatable({}, { __mode = "k" })
-- request origins seen by this worker, normalised
local origins_seen = lrucache.new(10000)

-- "scheme://host[:port]" without a default port, and the bare host.
local function normalize(origin)
    local scheme, authority = match(origin, "^(%a[%w+.-]*)://([^/?#]*)")
    if not scheme then
        return { domain = origin, host = origin }
    end
    authority = match(authority, "^.*@(.*)$") or authority
    local host, port = match(authority, "^(%[.*%]):?(%d*)$")
    if not host then
        host, port = match(authority, "^([^:]*):?(%d*)$")
    end
    if not host or host == "" then
        return { domain = origin, host = origin }
    end
    if port == "" or DEFAULT_PORTS[lower(scheme)] == port then
        port = nil
    end
    return { domain = scheme .. "://" .. host .. (port and ":" .. port or ""), host = host }
end

local function compile(conf)
    local origins = conf.origins or {}
    local n = #origins
    local st = { all = n == 0 or (n == 1 and origins[1] == "*"), domains = {} }
    if n == 1 and re_find(origins[1], LITERAL, "jo") then
        st.literal = origins[1]
    end
    for _, entry in ipairs(origins) do
        if entry == "*" then
            st.star = true
        elseif re_find(entry, "[^A-Za-z0-9.:/-]", "jo") then
            -- anchored at both ends; a leading "^" is the user's own anchor
            if sub(entry, -1) ~= "$" then
                entry = entry .. "$"
            end
            if sub(entry, 1, 1) == "^" then
                entry = sub(entry, 2)
            end
            st.domains[#st.domains + 1] = { regex = entry,
                                            by_host = not find(entry, ":", 1, true) }
        else
            st.domains[#st.domains + 1] = { domain = normalize(entry).domain }
        end
    end
    st.methods = conf.methods and concat(conf.methods, ",") or ALL_METHODS
    st.headers = conf.headers and #conf.headers > 0 and concat(conf.headers, ",") or nil
    st.exposed = conf.exposed_headers and #conf.exposed_headers > 0
                 and concat(conf.exposed_headers, ",") or nil
    st.max_age = conf.max_age and tostring(conf.max_age) or nil
    compiled[conf] = st
    return st
end

local function has_origin(values)
    if type(values) ~= "table" then
        return values == "Origin"
    end
    for _, v in ipairs(values) do
        if v == "Origin" then
            return true
        end
    end
    return false
end

-- header_filter keeps the upstream's Vary values; "Origin" is added once
local function vary(in_filter)
    if not in_filter then
        response.set_header("Vary", "Origin")
    elseif not has_origin(response.get_header("Vary")) then
        response.add_header("Vary", "Origin")
    end
end

local function find_origin(st, req_origin)
    local norm = origins_seen:get(req_origin)
    if not norm then
        norm = normalize(req_origin)
        origins_seen:set(req_origin, norm)
    end
    for _, d in ipairs(st.domains) do
        local found
        if d.regex then
            found = re_find(d.by_host and norm.host or norm.domain, d.regex, "ajo")
        else
            found = norm.domain == d.domain
        end
        if found then
            return norm.domain
        end
    end
end

-- Sets Access-Control-Allow-Origin; true when it is "*".
local function configure_origin(st, in_filter, req_origin)
    if st.all then
        response.set_header("Access-Control-Allow-Origin", "*")
        return true
    end
    vary(in_filter)
    if st.literal then
        response.set_header("Access-Control-Allow-Origin", st.literal)
        return false
    end
    if req_origin then
        if st.star then
            response.set_header("Access-Control-Allow-Origin", "*")
            return true
        end
        local allowed = find_origin(st, req_origin)
        if allowed then
            response.set_header("Access-Control-Allow-Origin", allowed)
            return false
        end
    end
    response.clear_header("Access-Control-Allow-Origin")
    return false
end

-- "*" cannot go with credentials: the request origin is echoed instead.
local function configure_credentials(conf, allow_all, in_filter, req_origin)
    if not conf.credentials then
        return
    end
    if not allow_all then
        response.set_header("Access-Control-Allow-Credentials", "true")
    elseif req_origin then
        vary(in_filter)
        response.set_header("Access-Control-Allow-Origin", req_origin)
        response.set_header("Access-Control-Allow-Credentials", "true")
    end
end

-- Only a preflight is handled here: the method first, so that the other
-- requests read no header at all.
function CorsHandler:access(conf)
    if get_method() ~= "OPTIONS" then
        return
    end
    local req_origin = request.get_header("origin")
    if not req_origin or not request.get_header("access-control-request-method") then
        return
    end
    -- the preflight is answered here or by the upstream: no header_filter work
    kong.ctx.shared[PREFLIGHT] = true
    if conf.preflight_continue then
        return
    end
    local st = compiled[conf] or compile(conf)
    local allow_all = configure_origin(st, false, req_origin)
    configure_credentials(conf, allow_all, false, req_origin)
    local allow_headers = st.headers or request.get_header("access-control-request-headers")
    if allow_headers then
        response.set_header("Access-Control-Allow-Headers", allow_headers)
    end
    response.set_header("Access-Control-Allow-Methods", st.methods)
    if st.max_age then
        response.set_header("Access-Control-Max-Age", st.max_age)
    end
    if conf.private_network
       and request.get_header("access-control-request-private-network") == "true" then
        response.set_header("Access-Control-Allow-Private-Network", "true")
    end
    return response.exit(200, "")
end

function CorsHandler:header_filter(conf)
    if kong.ctx.shared[PREFLIGHT] then
        return
    end
    local st = compiled[conf] or compile(conf)
    local req_origin = request.get_header("origin")
    local allow_all = configure_origin(st, true, req_origin)
    configure_credentials(conf, allow_all, true, req_origin)
    if st.exposed then
        response.set_header("Access-Control-Expose-Headers", st.exposed)
    end
end

return CorsHandler
