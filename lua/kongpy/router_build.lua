-- Compiles snapshot routes into the ordered list of "virtual routes" that
-- traditional_compatible evaluates: one per regex group and per prefix length
-- of each route, ordered by the 64-bit priority of Kong's compatible flavor.
local router_index = require("kongpy.router_index")
local router_traditional = require("kongpy.router_traditional")
local expressions = require("kongpy.expressions")
local order = require("kongpy.router_order")

local re_match = ngx.re.match
local log = ngx.log
local ERR = ngx.ERR

local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local tostring = tostring
local byte = string.byte
local sub = string.sub
local lower = string.lower
local find = string.find
local sort = table.sort
local new_tab = require("table.new")
local clear = require("table.clear")
local null = ngx.null

local ERR_ROUTE = "route %s: %s"
local ERR_REGEX = "invalid regex path '%s': %s"
local ERR_NO_ATTRIBUTES = "has no methods, hosts, paths, headers or snis to match on "
                          .. "(an expression route needs router_flavor = expressions)"

local _M = {}

local TILDE, ASTERISK, DOT = byte("~"), byte("*"), byte(".")
local HOST_EXACT, HOST_SUFFIX, HOST_PREFIX = 1, 2, 3
_M.HOST_EXACT, _M.HOST_SUFFIX, _M.HOST_PREFIX = HOST_EXACT, HOST_SUFFIX, HOST_PREFIX

local HTTP_PROTOCOLS = { http = true, https = true, grpc = true, grpcs = true }

local function is_set(v)
    return v ~= nil and v ~= null and (type(v) ~= "table" or next(v) ~= nil)
end
_M.is_set = is_set

local function string_list(v, what)
    if not is_set(v) then
        return nil
    end
    if type(v) ~= "table" then
        return nil, what .. " must be an array"
    end
    for _, s in ipairs(v) do
        if type(s) ~= "string" then
            return nil, what .. " must hold strings"
        end
    end
    return v
end

local function compile_hosts(hosts)
    local out = {}
    local plain = true
    for i, h in ipairs(hosts) do
        h = lower(h)
        local port
        local colon = find(h, ":", 1, true)
        if colon and not find(h, ":", colon + 1, true) then
            port = tonumber(sub(h, colon + 1))
            if port then
                h = sub(h, 1, colon - 1)
            end
        end
        local kind, value = HOST_EXACT, h
        if byte(h, 1) == ASTERISK then
            kind, value, plain = HOST_SUFFIX, sub(h, 2), false
        elseif byte(h, -1) == ASTERISK then
            kind, value, plain = HOST_PREFIX, sub(h, 1, -2), false
        end
        out[i] = { kind = kind, value = value, port = port }
    end
    return out, plain
end

-- Kong's SNI operators: `*.x.test` matches names ending in `.x.test`,
-- `x.*` names starting with `x.`, anything else the name itself (a trailing
-- dot dropped). Returns the exact set and the suffix and prefix lists (nil
-- when empty).
local function compile_snis(snis)
    local exact, suffixes, prefixes = {}, nil, nil
    for _, s in ipairs(snis) do
        s = lower(s)
        if byte(s, -1) == ASTERISK then
            prefixes = prefixes or {}
            prefixes[#prefixes + 1] = sub(s, 1, -2)
        else
            if #s > 1 and byte(s, -1) == DOT then s = sub(s, 1, -2) end
            if byte(s, 1) == ASTERISK then
                suffixes = suffixes or {}
                suffixes[#suffixes + 1] = sub(s, 2)
            else
                exact[s] = true
            end
        end
    end
    return exact, suffixes, prefixes
end

local function compile_headers(headers)
    if not is_set(headers) then
        return nil, 0
    end
    if type(headers) ~= "table" then
        return nil, 0, "headers must be an object"
    end
    local out, n = {}, 0
    for name, values in pairs(headers) do
        if type(name) ~= "string" or type(values) ~= "table" then
            return nil, 0, "headers must map names to arrays of strings"
        end
        local h = { name = lower(name), values = {}, regexes = nil }
        for _, v in ipairs(values) do
            if type(v) ~= "string" then
                return nil, 0, "header values must be strings"
            end
            if byte(v, 1) == TILDE and byte(v, 2) == ASTERISK then
                local rx = lower(sub(v, 3))
                local _, err = re_match("", rx, "jo")
                if err then
                    return nil, 0, "invalid header regex '" .. v .. "': " .. err
                end
                h.regexes = h.regexes or {}
                h.regexes[#h.regexes + 1] = rx
            else
                h.values[lower(v)] = true
            end
        end
        n = n + 1
        out[n] = h
    end
    sort(out, function(a, b) return a.name < b.name end)
    return out, n
end

-- One group for all regex paths, one group per distinct prefix length.
local function group_paths(paths)
    local regexes, by_len, lens = {}, {}, {}
    for _, p in ipairs(paths) do
        if byte(p, 1) == TILDE then
            local rx = sub(p, 2)
            local _, err = re_match("", rx, "ajo")
            if err then
                return nil, ERR_REGEX:format(p, err)
            end
            regexes[#regexes + 1] = rx
        else
            local l = #p
            if not by_len[l] then
                by_len[l] = {}
                lens[#lens + 1] = l
            end
            local g = by_len[l]
            g[#g + 1] = p
        end
    end
    local groups = {}
    if #regexes > 0 then
        groups[1] = { regexes = regexes }
    end
    for _, l in ipairs(lens) do
        groups[#groups + 1] = { prefixes = by_len[l], length = l }
    end
    return groups
end

local DEFAULT_PROTOCOLS = { "http", "https" }

-- The set of a route's protocols. With `memo` (list -> set, for one build),
-- routes listing the same protocols share one set: nothing writes to it.
local function protocol_set(list, memo)
    if type(list) ~= "table" then
        list = DEFAULT_PROTOCOLS
    end
    if memo and list[1] == "http" and list[2] == "https" and list[3] == nil then
        -- most routes: no key to build
        local set = memo[DEFAULT_PROTOCOLS]
        if not set then
            set = { http = true, https = true }
            memo[DEFAULT_PROTOCOLS] = set
        end
        return set
    end
    local key = memo and ""
    for _, p in ipairs(list) do
        if key and type(p) == "string" then
            key = key .. "\0" .. p
        else
            key = nil
        end
    end
    local set = key and memo[key]
    if not set then
        set = {}
        for _, p in ipairs(list) do
            set[p] = true
        end
        if key then
            memo[key] = set
        end
    end
    return set
end

-- compatible: Kong's ATC flavour builds every upstream path the v0 way,
-- whatever path_handling says (its schema warns that v1 "will not work").
local function route_entry(route, service, compatible, memo)
    local protocols = protocol_set(route.protocols, memo)
    return {
        route = route,
        id = route.id,
        service = service,
        strip_path = route.strip_path ~= false,
        path_handling = (route.path_handling == "v1" and not compatible) and "v1" or "v0",
        preserve_host = route.preserve_host == true,
        https_only = protocols.https and not protocols.http or false,
        grpc = protocols.grpc or protocols.grpcs or false,
        redirect_code = tonumber(route.https_redirect_status_code) or 426,
        protocols = protocols,
    }
end

local LIST_NAMES = { "methods", "hosts", "paths", "snis" }

-- The route's attribute lists (nil when unset), checked; in `lists` (every
-- field set) when given.
local function route_lists(route, lists)
    lists = lists or {}
    for i = 1, #LIST_NAMES do
        local name = LIST_NAMES[i]
        local list, err = string_list(route[name], name)
        if err then return nil, err end
        lists[name] = list
    end
    local headers = route.headers
    if is_set(headers) then
        if type(headers) ~= "table" then
            return nil, "headers must be an object"
        end
        lists.headers = headers
    else
        lists.headers = nil
    end
    return lists
end

-- A route with exactly one path: one virtual route, `base` itself.
local function add_single_path(vroutes, base, p, route, stats)
    if byte(p, 1) == TILDE then
        local rx = sub(p, 2)
        local _, err = re_match("", rx, "ajo")
        if err then
            return ERR_REGEX:format(p, err)
        end
        base.regexes, base.is_regex, base.length = { rx }, true, 0
        base.regex_priority = tonumber(route.regex_priority) or 0
    else
        base.prefixes, base.is_regex, base.length, base.regex_priority = { p }, false, #p, 0
    end
    stats.seq = stats.seq + 1
    base.seq = stats.seq
    vroutes[#vroutes + 1] = base
end

-- a shallow copy (LuaJIT's table.clone: no metatable)
local copy = require("table.clone")

local function add_route(vroutes, route, service, stats)
    -- read at once: one table for every route of the build
    stats.lists = stats.lists or {}
    local lists, err = route_lists(route, stats.lists)
    if not lists then return err end
    local methods, hosts, paths, snis = lists.methods, lists.hosts, lists.paths, lists.snis
    local headers, header_count
    headers, header_count, err = compile_headers(route.headers)
    if err then return err end

    stats.protocols = stats.protocols or {}
    local entry = route_entry(route, service, true, stats.protocols)
    local weight = (methods and 1 or 0) + (hosts and 1 or 0) + (header_count > 0 and 1 or 0)
                   + (snis and 1 or 0) + (paths and 1 or 0)
    if weight == 0 then
        -- the schema never lets such a route in; an expression route stored
        -- under the expressions flavour and read by another flavour would
        -- otherwise match every request
        return ERR_NO_ATTRIBUTES
    end
    -- sized for the fields every virtual route gets (a rehash less)
    local base = new_tab(0, 16)
    base.entry, base.weight, base.header_count, base.headers = entry, weight, header_count,
                                                               headers
    base.plain_hosts, base.port_hosts = false, false
    if methods then
        base.methods = {}
        for _, m in ipairs(methods) do base.methods[m] = true end
    end
    if hosts then
        base.hosts, base.plain_hosts = compile_hosts(hosts)
        for _, h in ipairs(base.hosts) do
            if h.port then
                stats.uses_port = true
                base.port_hosts = true
            end
        end
    end
    if snis then
        base.snis, base.sni_suffixes, base.sni_prefixes = compile_snis(snis)
        stats.uses_snis = true
    end
    if headers then
        stats.uses_headers = true
        for _, h in ipairs(headers) do stats.header_names[h.name] = true end
    end

    if paths and paths[1] ~= nil and paths[2] == nil then
        return add_single_path(vroutes, base, paths[1], route, stats)
    end
    local groups = { false }
    if paths then
        groups, err = group_paths(paths)
        if not groups then return err end
    end
    local single = #groups == 1
    for i, g in ipairs(groups) do
        -- plain tables, no metatables: the sort and every match read them
        local vr = single and base or copy(base)
        vr.seq = stats.seq + i
        if g then
            vr.regexes, vr.prefixes = g.regexes, g.prefixes
            vr.is_regex = g.regexes ~= nil
            vr.length = g.length or 0
            vr.regex_priority = vr.is_regex and (tonumber(route.regex_priority) or 0) or 0
        else
            vr.is_regex, vr.length, vr.regex_priority = false, 0, 0
        end
        vroutes[#vroutes + 1] = vr
    end
    stats.seq = stats.seq + #groups
end

-- Kong's regexes are unanchored (Rust regex): PCRE without the `a` option.
local function regex_match(subject, rx)
    return (re_match(subject, rx, "jo"))
end

-- A route of `router_flavor = expressions` with an `expression`: one virtual
-- route whose matcher is the compiled tree (lua/kongpy/expressions.lua).
local function add_expression_route(vroutes, route, service, stats)
    local tree = route.expression_tree
    if type(tree) ~= "table" then
        return "its expression has no compiled tree"
    end
    stats.memo = stats.memo or expressions.memo()
    -- read at once: one table for every route of the build
    local fields = stats.fields or {}
    stats.fields = fields
    clear(fields)
    local matcher, err = expressions.compile(tree, regex_match, stats.memo, fields)
    if not matcher then
        return err
    end
    local seen = stats.seen_fields or {}
    stats.seen_fields = seen
    for field in pairs(fields) do
        if seen[field] then -- luacheck: ignore 542
            -- what it tells the router is known already
        elseif field == "net.dst.port" then
            stats.uses_port = true
        elseif field == "tls.sni" then
            stats.uses_snis = true
        elseif sub(field, 1, 13) == "http.headers." then
            stats.uses_headers = true
            stats.expr_headers[sub(field, 14)] = true
        elseif sub(field, 1, 13) == "http.queries." then
            stats.uses_queries = true
        elseif field == "net.src.ip" or field == "net.src.port" then
            stats.uses_src = true
        elseif field == "net.dst.ip" then
            stats.uses_dst_ip = true
        end
        seen[field] = true
    end
    local path, host = expressions.index_hint(tree, router_index.literal_head)
    -- Kong ignores path_handling v1 on expression routes
    stats.protocols = stats.protocols or {}
    local entry = route_entry(route, service, true, stats.protocols)
    stats.seq = stats.seq + 1
    vroutes[#vroutes + 1] = {
        entry = entry,
        expr = matcher,
        priority = tonumber(route.priority) or 0,
        seq = stats.seq,
        index_paths = path and { path } or nil,
        index_hosts = host and { { kind = HOST_EXACT, value = host } } or nil,
    }
    stats.has_expressions = true
end

-- Expression routes first (Kong: their priority | 0xFF << 56), by priority
-- then by route id, greater first (the engine's key order).
local function before_expr(a, b)
    if not (a.expr and b.expr) then
        return a.expr ~= nil
    end
    if a.priority ~= b.priority then return a.priority > b.priority end
    local ida, idb = tostring(a.entry.id), tostring(b.entry.id)
    if ida ~= idb then return ida > idb end
    return a.seq < b.seq
end

-- Higher priority first; exact ties fall back to route id (ATC iterates its
-- matchers in descending key order), then to path order within a route.
-- Before the id, a route naming a host with its port wins the tie: Kong's
-- router scenarios expect `Host: a.test:321` to pick `a.test:321` over
-- `a.test` (the traditional router ranks it so; ATC leaves the tie to ids).
local function before(a, b)
    if a.expr or b.expr then return before_expr(a, b) end
    if a.weight ~= b.weight then return a.weight > b.weight end
    if a.plain_hosts ~= b.plain_hosts then return a.plain_hosts end
    if a.header_count ~= b.header_count then return a.header_count > b.header_count end
    if a.is_regex ~= b.is_regex then return a.is_regex end
    if a.regex_priority ~= b.regex_priority then return a.regex_priority > b.regex_priority end
    if a.length ~= b.length then return a.length > b.length end
    if a.port_hosts ~= b.port_hosts then return a.port_hosts end
    local ida, idb = tostring(a.entry.id), tostring(b.entry.id)
    if ida ~= idb then return ida > idb end
    return a.seq < b.seq
end

-- Adds the virtual routes of one snapshot route to `vroutes` (unsorted);
-- returns an error for a route the router cannot take. `traditional`: the
-- traditional flavour's module when that is the flavour.
local function add(vroutes, route, services_by_id, disabled, traditional, stats)
    if type(route) ~= "table" then
        return "routes must hold objects"
    end
    local protocols = route.protocols
    local http = true
    if type(protocols) == "table" then
        http = false
        for _, p in ipairs(protocols) do
            if HTTP_PROTOCOLS[p] then http = true end
        end
    end
    local service, skip
    local sref = route.service
    if type(sref) == "table" then
        local sid = sref.id
        if disabled[sid] then
            skip = true
        else
            service = services_by_id[sid]
            if not service then
                return ERR_ROUTE:format(tostring(route.id), "references an unknown service")
            end
        end
    end
    if not http or skip then
        return nil
    end
    if not traditional and is_set(route.expression) then
        -- Kong skips a route its engine refuses (and logs it)
        local err = add_expression_route(vroutes, route, service, stats)
        if err then
            log(ERR, "could not add route: ", tostring(route.id), ", err: ", err)
        end
        return nil
    end
    local err
    if traditional then
        local lists
        lists, err = route_lists(route)
        if lists then
            stats.seq = stats.seq + 1
            err = traditional.marshall(vroutes, route, route_entry(route, service),
                                       stats.seq, lists)
        end
    else
        err = add_route(vroutes, route, service, stats)
    end
    if err then
        return ERR_ROUTE:format(tostring(route.id), err)
    end
end

local function sorted_keys(set)
    local out = {}
    for name in pairs(set) do out[#out + 1] = name end
    sort(out)
    return out
end

-- The router fields of the traditional_compatible and expressions flavours
-- besides their vroutes and index, from the `stats` the routes were added
-- with; `stats` is kept (`rt.stats`) for kongpy.router_update.
local function fields(rt, stats, flavor)
    local expr_headers = sorted_keys(stats.expr_headers)
    rt.uses_port = stats.uses_port or false
    rt.uses_snis = stats.uses_snis or false
    rt.uses_headers = stats.uses_headers or false
    rt.header_names = sorted_keys(stats.header_names)
    rt.flavor = flavor == "expressions" and "expressions" or "traditional_compatible"
    -- what expression routes read besides (docs/router.md "Expressions")
    rt.has_expressions = stats.has_expressions or false
    rt.expr_extra = (stats.uses_queries or stats.uses_src or stats.uses_dst_ip
                     or expr_headers[1] ~= nil) or false
    rt.expr_headers = expr_headers
    rt.uses_queries = stats.uses_queries or false
    rt.uses_src = stats.uses_src or false
    rt.uses_dst_ip = stats.uses_dst_ip or false
    rt.stats = stats
    return rt
end

-- services_by_id: id -> compiled service (nil for disabled ones); flavor:
-- "traditional", "expressions" (routes with an expression, the others as
-- traditional_compatible) or (default) "traditional_compatible".
function _M.build(routes, services_by_id, disabled, flavor)
    local traditional = flavor == "traditional" and router_traditional
    local vroutes = {}
    local stats = { seq = 0, header_names = {}, expr_headers = {} }
    for _, route in ipairs(routes) do
        local err = add(vroutes, route, services_by_id, disabled, traditional, stats)
        if err then
            return nil, err
        end
    end
    -- true of this build's flags only: kongpy.router_update adds to a copy
    stats.seen_fields = nil
    if traditional then
        local rt = traditional.build(vroutes)
        rt.flavor = "traditional"
        return rt
    end
    order.sort(vroutes, before)
    return fields({ vroutes = vroutes, index = router_index.build(vroutes) }, stats, flavor)
end

_M.add, _M.before, _M.fields = add, before, fields

return _M
