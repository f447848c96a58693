-- Evaluates the router expressions of `router_flavor = expressions`.
--
-- The control plane parses and type-checks each expression once (Python:
-- kongpy/schemas/expressions.py) and ships its tree with the route
-- (`expression_tree`, docs/router.md "Expressions"); here a tree becomes a
-- closure once per configuration version. No ngx here: the stream data plane
-- (a LuaJIT state without ngx) uses this module too, and the HTTP router
-- hands in its regex function.
--
-- A closure takes `ctx`, the request's field values: `ctx.fetch(ctx, field)`
-- yields a string or number, a list of strings (headers, queries: several
-- values), or false when the request has no value for the field; values are
-- remembered in `ctx` itself. A successful predicate on http.path records in
-- `ctx.path_match` what strip_path removes (Kong: the literal of `==`, `^=`,
-- `=^`, the whole match of `~`); successful regexes add their captures to
-- `ctx.captures`.
local cidr = require("kongpy.tools.cidr")

local type = type
local ipairs = ipairs
local pairs = pairs
local tostring = tostring
local concat = table.concat
local tonumber = tonumber
local lower = string.lower
local sub = string.sub
local find = string.find

local _M = {}

local function value_of(ctx, field)
    local v = ctx[field]
    if v == nil then
        v = ctx.fetch(ctx, field)
        if v == nil then
            v = false
        end
        ctx[field] = v
    end
    return v
end
_M.value_of = value_of

-- The test of one value: function(ctx, v) -> boolean.
local function value_test(field, op, lit, regex)
    local is_path = field == "http.path"
    if type(lit) == "table" then
        local text = lit.ip or lit.cidr
        local family = cidr.parse(lit.ip or sub(text, 1, (find(text, "/", 1, true) or 0) - 1))
        local m = cidr.compile({ text })
        local function inside(v)
            local f = cidr.parse(v)
            return f == family and cidr.contains(m, v) == true, f
        end
        if op == "==" then
            return function(_, v) return (inside(v)) end
        elseif op == "!=" then
            return function(_, v) return not inside(v) end
        elseif op == "in" then
            return function(_, v) return (inside(v)) end
        end
        -- not in: an address of the other family is in neither
        return function(_, v)
            local yes, f = inside(v)
            return f == family and not yes
        end
    end
    if op == "==" then
        if is_path then
            return function(ctx, v)
                if v == lit then ctx.path_match = lit return true end
                return false
            end
        end
        return function(_, v) return v == lit end
    elseif op == "!=" then
        return function(_, v) return v ~= lit end
    elseif op == "^=" then
        local n = #lit
        if not is_path then
            return function(_, v) return sub(v, 1, n) == lit end
        end
        return function(ctx, v)
            if sub(v, 1, n) == lit then
                ctx.path_match = lit
                return true
            end
            return false
        end
    elseif op == "=^" then
        local n = #lit
        return function(ctx, v)
            if n == 0 or sub(v, -n) == lit then
                if is_path then ctx.path_match = lit end
                return true
            end
            return false
        end
    elseif op == "contains" then
        return function(_, v) return find(v, lit, 1, true) ~= nil end
    elseif op == "~" then
        return function(ctx, v)
            local m = regex(v, lit)
            if not m then
                return false
            end
            if is_path then ctx.path_match = m[0] end
            local caps = ctx.captures or {}
            for k, c in pairs(m) do
                caps[k] = c
            end
            ctx.captures = caps
            return true
        end
    elseif op == ">" then
        return function(_, v) return v > lit end
    elseif op == ">=" then
        return function(_, v) return v >= lit end
    elseif op == "<" then
        return function(_, v) return v < lit end
    elseif op == "<=" then
        return function(_, v) return v <= lit end
    end
    return nil, "unknown operator " .. tostring(op)
end

local compile

-- Fields whose value is one string (never a list) or false.
local ONE_STRING = { ["http.path"] = true, ["http.method"] = true, ["http.host"] = true }

-- One closure (fewer upvalues) for the predicates most routes are made of:
-- `==` and `^=` on a field of ONE_STRING, without lower() or any(); nil for
-- the others. Does what value_test's test wrapped by predicate() does.
local function simple_predicate(field, op, lit)
    if not ONE_STRING[field] or type(lit) ~= "string" then
        return nil
    end
    local is_path = field == "http.path"
    if op == "^=" then
        local n = #lit
        if is_path then
            return function(ctx)
                local v = value_of(ctx, "http.path")
                if v and sub(v, 1, n) == lit then
                    ctx.path_match = lit
                    return true
                end
                return false
            end
        end
        return function(ctx)
            local v = value_of(ctx, field)
            return v and sub(v, 1, n) == lit or false
        end
    elseif op == "==" then
        if is_path then
            return function(ctx)
                if value_of(ctx, "http.path") == lit then
                    ctx.path_match = lit
                    return true
                end
                return false
            end
        end
        return function(ctx) return value_of(ctx, field) == lit end
    end
    return nil
end

local function flags_of(node)
    local flags = tonumber(node[5]) or 0
    return flags % 2 == 1, flags >= 2
end

local function predicate(node, regex)
    local field, op, lit = node[2], node[3], node[4]
    local to_lower, any = flags_of(node)
    if type(field) ~= "string" then
        return nil, "a predicate needs a field"
    end
    local simple = not to_lower and not any and simple_predicate(field, op, lit)
    if simple then
        return simple
    end
    local test, err = value_test(field, op, lit, regex)
    if not test then
        return nil, err
    end
    if not to_lower and not any then
        -- the common case, with fewer upvalues to allocate per predicate
        return function(ctx)
            local v = value_of(ctx, field)
            if not v then
                return false
            end
            if type(v) == "table" then
                -- several values: all must pass
                if #v == 0 then
                    return false
                end
                for _, item in ipairs(v) do
                    if not test(ctx, item) then
                        return false
                    end
                end
                return true
            end
            return test(ctx, v)
        end
    end
    return function(ctx)
        local v = value_of(ctx, field)
        if not v then
            return false
        end
        if type(v) == "table" then
            -- several values: all must pass, or one with any()
            if #v == 0 then
                return false
            end
            for _, item in ipairs(v) do
                if to_lower then item = lower(item) end
                local ok = test(ctx, item)
                if any and ok then
                    return true
                elseif not any and not ok then
                    return false
                end
            end
            return not any
        end
        if to_lower then v = lower(v) end
        return test(ctx, v)
    end
end

local function sub_table(t, k)
    local v = t[k]
    if not v then
        v = {}
        t[k] = v
    end
    return v
end

-- The memo's slot of a subtree: predicates by field, operator, flags and
-- literal, composite nodes by kind and their children's closures (the second
-- first: most routes share it, Kong's protocol guard), in nested tables (no
-- key strings to build); the literal or the first child, unique to most
-- routes, keys the last level. Returns the table and the key, or nil.
local function slot(memo, node, a, b)
    local kind = node[1]
    if kind == "pred" then
        local lit = node[4]
        if type(lit) == "table" then
            lit = lit.ip or lit.cidr
        end
        if lit == nil then
            return nil
        end
        local t = sub_table(sub_table(sub_table(memo.pred, node[2]), node[3]), node[5] or 0)
        return t, lit
    end
    return sub_table(memo[kind], b or false), a
end

compile = function(node, regex, fields, memo)
    if type(node) ~= "table" then
        return nil, "expression trees are arrays"
    end
    local kind = node[1]
    local err, a, b
    if kind == "pred" then
        if type(node[2]) ~= "string" or type(node[3]) ~= "string" then
            return nil, "a predicate needs a field and an operator"
        end
        fields[node[2]] = true
    elseif kind == "not" then
        a, err = compile(node[2], regex, fields, memo)
        if not a then return nil, err end
    elseif kind == "and" or kind == "or" then
        a, err = compile(node[2], regex, fields, memo)
        if not a then return nil, err end
        b, err = compile(node[3], regex, fields, memo)
        if not b then return nil, err end
    elseif kind == "protocol" then
        -- Kong's protocol guard: net.protocol is one of the names
        fields["net.protocol"] = true
        -- Kong's guard of most routes, without a string to build
        local names = (node[2] == "http" and node[3] == "https" and node[4] == nil)
                      and "http https" or concat(node, " ", 2)
        local fn = memo.protocol[names]
        if not fn then
            local set = {}
            for i = 2, #node do set[node[i]] = true end
            fn = function(ctx) return set[value_of(ctx, "net.protocol")] == true end
            memo.protocol[names] = fn
        end
        return fn
    else
        return nil, "unknown expression node " .. tostring(kind)
    end
    -- equal subtrees share one closure (Kong's protocol guard is the same on
    -- most routes): fewer closures to build and to keep
    local t, key = slot(memo, node, a, b)
    local fn = t and t[key]
    if fn then
        return fn
    end
    if kind == "pred" then
        fn, err = predicate(node, regex)
        if not fn then return nil, err end
    elseif kind == "not" then
        fn = function(ctx) return not a(ctx) end
    elseif kind == "and" then
        fn = function(ctx) return a(ctx) and b(ctx) end
    else
        fn = function(ctx) return a(ctx) or b(ctx) end
    end
    if t then
        t[key] = fn
    end
    return fn
end

-- A memo shares closures between the trees of one configuration version.
function _M.memo()
    return { pred = {}, ["not"] = {}, ["and"] = {}, ["or"] = {}, protocol = {} }
end

-- compile(tree, regex, memo, fields) -> matcher, fields (set of the field
-- names it reads: `fields` when given, filled) | nil, err. regex(subject,
-- pattern) returns a capture table or nil.
function _M.compile(tree, regex, memo, fields)
    fields = fields or {}
    local fn, err = compile(tree, regex, fields, memo or _M.memo())
    if not fn then
        return nil, err
    end
    return fn, fields
end

-- The longest path prefix and the first host found so far, updated with
-- what `node` requires.
local function hint_of(node, literal_head, path, host)
    if type(node) ~= "table" then
        return path, host
    end
    if node[1] == "and" then
        path, host = hint_of(node[2], literal_head, path, host)
        return hint_of(node[3], literal_head, path, host)
    elseif node[1] == "pred" and (tonumber(node[5]) or 0) == 0 then
        local field, op, lit = node[2], node[3], node[4]
        if field == "http.path" and (op == "^=" or op == "==") and type(lit) == "string"
           and lit ~= "" then
            if not path or #lit > #path then
                path = lit
            end
        elseif field == "http.path" and op == "~" and sub(lit, 1, 1) == "^" then
            local head = literal_head(sub(lit, 2))
            if head ~= "" and (not path or #head > #path) then
                path = head
            end
        elseif field == "http.host" and op == "==" and not path and not host then
            host = lit
        end
    end
    return path, host
end

-- What every match of `tree` requires, for the router's candidate index: a
-- literal path prefix, else a host, from a predicate at the top level of the
-- conjunction (no lower(), no any()); nil, nil when none.
function _M.index_hint(tree, literal_head)
    local path, host = hint_of(tree, literal_head, nil, nil)
    if path then
        return path, nil
    end
    return nil, host
end

return _M
