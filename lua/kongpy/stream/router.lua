-- Stream routes (tcp, tls, tls_passthrough, udp): compiled once per stream
-- snapshot into an ordered list, matched per connection on the protocol,
-- the client's address and port (sources), the local address and port
-- (destinations) and the SNI. Precedence per router flavour:
--   traditional: more attribute kinds first, then the kinds themselves
--     (snis > sources > destinations, Kong's category bits), then the older
--     route; Kong leaves the rest to an unstable sort, kongpy then prefers
--     the more specific route as the compatible flavour does;
--   traditional_compatible: Kong's ATC priority (compat.lua): snis, or
--     sources with destinations, on top, then source ip, source port, source
--     cidr, destination ip, destination port, destination cidr bits.
local bit = require("bit")
local cidr = require("kongpy.tools.cidr")
local expressions = require("kongpy.expressions")

local type = type
local ipairs = ipairs
local next = next
local sort = table.sort
local lower = string.lower
local sub = string.sub
local find = string.find
local tonumber = tonumber
local tostring = tostring

local STREAM = { tcp = true, tls = true, tls_passthrough = true, udp = true }

local _M = {}

local function is_list(v)
    return type(v) == "table" and next(v) ~= nil
end

-- {ip = "10.0.0.0/8", port = 9000}: either part may be absent.
local function compile_endpoints(list, what)
    local out = {}
    for i, e in ipairs(list) do
        if type(e) ~= "table" then
            return nil, what .. " must hold objects"
        end
        local c = { port = tonumber(e.port) }
        if type(e.ip) == "string" then
            local m, err = cidr.compile({ e.ip })
            if not m then
                return nil, what .. ": " .. err
            end
            c.ip = m
        end
        out[i] = c
    end
    return out
end

-- "*.foo.test" -> {suffix = ".foo.test"}, "bar.*" -> {prefix = "bar."}
function _M.wildcard(name)
    if sub(name, 1, 2) == "*." then
        return { suffix = sub(name, 2) }
    elseif sub(name, -2) == ".*" then
        return { prefix = sub(name, 1, -2) }
    end
    return nil
end

local function compile_snis(list)
    local exact, wild = {}, {}
    for _, s in ipairs(list) do
        s = lower(s)
        local w = _M.wildcard(s)
        if w then
            wild[#wild + 1] = w
        else
            exact[s] = true
        end
    end
    return { exact = exact, wild = wild[1] and wild or nil }
end

-- Kong's ATC bits for a stream route's endpoints (ip, port, cidr).
local SPECIFIC = {
    sources = { ip = 0x80, port = 0x40, cidr = 0x10 },
    destinations = { ip = 0x08, port = 0x04, cidr = 0x01 },
}
local TOP = 0x100
local SNI_RULE, SRC_RULE, DST_RULE = 4, 2, 1

local function specificity(list, bits)
    local w = 0
    for _, e in ipairs(list) do
        if type(e.ip) == "string" then
            w = bit.bor(w, find(e.ip, "/", 1, true) and bits.cidr or bits.ip)
        end
        if e.port then
            w = bit.bor(w, bits.port)
        end
    end
    return w
end

-- Stream expressions have no regex (refused when the route is written).
local function no_regex()
    return nil
end

-- router_flavor = expressions: the route's compiled tree (kongpy.expressions)
local function compile_expression(row, memo)
    if type(row.expression_tree) ~= "table" then
        return nil, "its expression has no compiled tree"
    end
    local matcher, err = expressions.compile(row.expression_tree, no_regex, memo)
    if not matcher then
        return nil, err
    end
    local r = { row = row, id = row.id, expr = matcher, protocols = {},
                expr_priority = tonumber(row.priority) or 0 }
    for _, p in ipairs(row.protocols or {}) do
        r.protocols[p] = true
    end
    return r
end

local function compile_route(row, memo)
    if type(row.expression) == "string" then
        return compile_expression(row, memo)
    end
    local r = { row = row, protocols = {}, kinds = 0, created_at = row.created_at or 0,
                id = row.id, rules = 0, specific = 0 }
    for _, p in ipairs(row.protocols or {}) do
        r.protocols[p] = true
    end
    local err
    if is_list(row.sources) then
        r.sources, err = compile_endpoints(row.sources, "sources")
        if err then return nil, err end
        r.kinds, r.rules = r.kinds + 1, r.rules + SRC_RULE
        r.specific = r.specific + specificity(row.sources, SPECIFIC.sources)
    end
    if is_list(row.destinations) then
        r.destinations, err = compile_endpoints(row.destinations, "destinations")
        if err then return nil, err end
        r.kinds, r.rules = r.kinds + 1, r.rules + DST_RULE
        r.specific = r.specific + specificity(row.destinations, SPECIFIC.destinations)
    end
    if is_list(row.snis) then
        r.snis = compile_snis(row.snis)
        r.kinds, r.rules = r.kinds + 1, r.rules + SNI_RULE
    end
    r.priority = r.specific
    if r.snis or (r.sources and r.destinations) then
        r.priority = r.priority + TOP
    end
    return r
end

function _M.is_stream(row)
    for _, p in ipairs(row.protocols or {}) do
        if STREAM[p] then
            return true
        end
    end
    return false
end

local function traditional_before(a, b)
    if a.kinds ~= b.kinds then return a.kinds > b.kinds end
    if a.rules ~= b.rules then return a.rules > b.rules end
    if a.created_at ~= b.created_at then return a.created_at < b.created_at end
    if a.specific ~= b.specific then return a.specific > b.specific end
    return a.id < b.id
end

local function compatible_before(a, b)
    if a.priority ~= b.priority then return a.priority > b.priority end
    if a.created_at ~= b.created_at then return a.created_at < b.created_at end
    return a.id < b.id
end

-- Returns the compiled router, or nil and an error naming the route.
-- flavor: the node's router_flavor (default traditional_compatible).
function _M.build(rows, flavor)
    local routes = {}
    local before = flavor == "traditional" and traditional_before or compatible_before
    local memo = expressions.memo()
    for _, row in ipairs(rows) do
        if _M.is_stream(row) then
            local r, err = compile_route(row, memo)
            if not r then
                return nil, "route " .. tostring(row.id) .. ": " .. err
            end
            routes[#routes + 1] = r
        end
    end
    sort(routes, function(a, b)
        -- expression routes first (Kong: priority | 0xFF << 56), by their
        -- priority, then the greater id; the others in the flavour's order
        if a.expr or b.expr then
            if not (a.expr and b.expr) then
                return a.expr ~= nil
            end
            if a.expr_priority ~= b.expr_priority then
                return a.expr_priority > b.expr_priority
            end
            return a.id > b.id
        end
        return before(a, b)
    end)
    return { routes = routes }
end

local function endpoint_matches(list, ip, port)
    for _, e in ipairs(list) do
        if (not e.port or e.port == port)
           and (not e.ip or (ip and cidr.contains(e.ip, ip))) then
            return true
        end
    end
    return false
end

-- w: {suffix = ".foo.test"} for "*.foo.test" (one label), or
-- {prefix = "bar."} for "bar.*"; sni in lower case
function _M.wildcard_covers(w, sni)
    local suffix, prefix = w.suffix, w.prefix
    if suffix then
        return #sni > #suffix and sub(sni, -#suffix) == suffix
               and not find(sub(sni, 1, -#suffix - 1), ".", 1, true)
    end
    return #sni > #prefix and sub(sni, 1, #prefix) == prefix
end

local function sni_matches(snis, sni)
    if not sni then
        return false
    end
    sni = lower(sni)
    if snis.exact[sni] then
        return true
    end
    for _, w in ipairs(snis.wild or {}) do
        if _M.wildcard_covers(w, sni) then
            return true
        end
    end
    return false
end

local FIELDS = { ["net.src.ip"] = "src_ip", ["net.src.port"] = "src_port",
                 ["net.dst.ip"] = "dst_ip", ["net.dst.port"] = "dst_port" }

-- Kong's stream fields: net.protocol is udp, else tls when there is an
-- SNI, else tcp
local function fetch(ctx, field)
    local conn = ctx.conn
    if field == "net.protocol" then
        if conn.protocol == "udp" then
            return "udp"
        end
        return conn.sni and "tls" or "tcp"
    elseif field == "tls.sni" then
        return conn.sni and lower(conn.sni) or nil
    end
    local key = FIELDS[field]
    return key and conn[key] or nil
end

-- conn: {protocol, src_ip, src_port, dst_ip, dst_port, sni}
function _M.match(rt, conn)
    local ctx
    for _, r in ipairs(rt.routes) do
        if r.expr then
            -- the protocol too: TLS is terminated (tls) or passed through
            -- (tls_passthrough) in two different passes of this data plane
            ctx = ctx or { conn = conn, fetch = fetch }
            if r.protocols[conn.protocol] and r.expr(ctx) then
                return r
            end
        elseif r.protocols[conn.protocol]
           and (not r.sources or endpoint_matches(r.sources, conn.src_ip, conn.src_port))
           and (not r.destinations
                or endpoint_matches(r.destinations, conn.dst_ip, conn.dst_port))
           and (not r.snis or sni_matches(r.snis, conn.sni)) then
            return r
        end
    end
    return nil
end

return _M
