-- The fields of HTTP requests for router expressions (kong-reference §10.2),
-- and what of them the router's cache key must hold.
--
-- req (kongpy.router's request): method, host (no port), port (Kong's
-- net.dst.port), path (normalised), headers (ngx.req.get_headers()), sni
-- (TLS only), https; set here when expression routes read them: queries
-- (ngx.req.get_uri_args()), src_ip, src_port, dst_ip.
local type = type
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local lower = string.lower
local gsub = string.gsub
local sub = string.sub
local find = string.find
local concat = table.concat

local SEP = "\0"

local _M = {}

-- "/a/b/c" -> {"a", "b", "c"}; a trailing "/" adds no segment
local function segments(p)
    local out = {}
    local pos, n = 2, #p
    while pos <= n do
        local slash = find(p, "/", pos, true)
        out[#out + 1] = sub(p, pos, (slash or n + 1) - 1)
        if not slash then
            break
        end
        pos = slash + 1
    end
    return out
end

-- header name -> Kong's field suffix: lower case, "-" as "_"
local function header_field(name)
    return (gsub(lower(name), "-", "_"))
end

local function add_values(list, v)
    if type(v) == "table" then
        for _, item in ipairs(v) do
            list[#list + 1] = item == true and "" or item
        end
    else
        list[#list + 1] = v == true and "" or v
    end
end

-- headers as Kong's fields see them: suffix -> list of values
local function header_map(headers)
    local map = {}
    for name, v in pairs(headers or {}) do
        local key = header_field(name)
        local list = map[key]
        if not list then
            list = {}
            map[key] = list
        end
        add_values(list, v)
    end
    return map
end
_M.header_map = header_map

local function fetch(ctx, field)
    local req = ctx.req
    if field == "http.path" then
        return req.path
    elseif field == "http.method" then
        return req.method
    elseif field == "http.host" then
        return req.host
    elseif field == "net.protocol" then
        return req.https and "https" or "http"
    elseif field == "net.dst.port" then
        return req.port
    elseif field == "tls.sni" then
        return req.https and req.sni or nil
    elseif field == "net.src.ip" then
        return req.src_ip
    elseif field == "net.src.port" then
        return req.src_port
    elseif field == "net.dst.ip" then
        return req.dst_ip
    end
    local head = sub(field, 1, 13)
    if head == "http.headers." then
        local map = req.hmap
        if not map then
            map = header_map(req.headers)
            req.hmap = map
        end
        return map[sub(field, 14)]
    elseif head == "http.queries." then
        local v = (req.queries or {})[sub(field, 14)]
        if v == nil or v == false then
            return nil
        end
        local list = {}
        add_values(list, v)
        return list
    elseif sub(field, 1, 19) == "http.path.segments." then
        local segs = ctx.segments
        if not segs then
            segs = segments(req.path)
            ctx.segments = segs
        end
        local suffix = sub(field, 20)
        if suffix == "len" then
            return #segs
        end
        local from, to = suffix:match("^(%d+)_(%d+)$")
        if from then
            from, to = tonumber(from) + 1, tonumber(to) + 1
            if to > #segs then
                return nil
            end
            return concat(segs, "/", from, to)
        end
        return segs[(tonumber(suffix) or -1) + 1]
    end
    return nil
end

function _M.context(req)
    return { req = req, fetch = fetch }
end

-- The cache key gains what expression routes read beyond the traditional
-- attributes and the scheme (kongpy.router keeps a cache per scheme);
-- returns it and the request fields to add.
function _M.cache_key(rt, var, key, headers, query)
    local parts = { key }
    local extra = {}
    if rt.uses_queries then
        parts[#parts + 1] = query or ""
        extra.queries = ngx.req.get_uri_args(0)
    end
    if rt.uses_src then
        extra.src_ip, extra.src_port = var.remote_addr, tonumber(var.remote_port)
        parts[#parts + 1] = extra.src_ip .. ":" .. var.remote_port
    end
    if rt.uses_dst_ip then
        extra.dst_ip = var.server_addr
        parts[#parts + 1] = extra.dst_ip
    end
    local names = rt.expr_headers
    if names[1] then
        local map = header_map(headers)
        extra.hmap = map
        for _, name in ipairs(names) do
            local v = map[name]
            parts[#parts + 1] = v and concat(v, SEP) or "\1"
        end
    end
    return concat(parts, SEP .. "x" .. SEP), extra
end

return _M
