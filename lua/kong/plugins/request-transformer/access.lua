-- request-transformer's access phase (Kong 3.9): uri, method, headers, body,
-- querystring, in that order; within each, remove, rename, replace (only
-- what is present), add (only what is absent), append.
--
-- Everything that depends on the configuration alone (the `name:value`
-- splits, the compiled templates, which sections are empty) is prepared
-- once per configuration table; a request pays only for the sections
-- configured, and builds a template environment only when a value holds
-- an expression.
local template = require("kong.plugins.request-transformer.template")
local body = require("kong.plugins.request-transformer.body")
local multivalue = require("kongpy.tools.values")
local cycle_aware_deep_copy = require("kong.tools.table").cycle_aware_deep_copy

local kong = kong
local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local setmetatable = setmetatable
local match = string.match
local lower = string.lower
local upper = string.upper

local render = template.render

local HOST = "host"
local SECTIONS = { "headers", "querystring", "body" }
local ACTIONS = { "remove", "rename", "replace", "add", "append" }

local _M = {}

-- name:value entries, each value prepared once; nil when there are none
local function entries(list, plan)
    if type(list) ~= "table" or list[1] == nil then
        return nil
    end
    local out = {}
    for i, pair in ipairs(list) do
        local name, value = match(pair, "^([^:]+):*(.-)$")
        local tpl = template.prepare(value)
        if template.is_dynamic(tpl) then
            plan.dynamic = true
        end
        out[i] = { name = name, value = tpl, host = lower(name) == HOST }
    end
    return out
end

local plans = setmetatable({}, { __mode = "k" })

local function prepare(conf)
    local plan = { dynamic = false }
    for _, section in ipairs(SECTIONS) do
        local s = {}
        for _, action in ipairs(ACTIONS) do
            local t = conf[action]
            s[action] = entries(t and t[section], plan)
        end
        if next(s) then
            plan[section] = s
        end
    end
    plan.uri = template.prepare(conf.replace and conf.replace.uri)
    if template.is_dynamic(plan.uri) then
        plan.dynamic = true
    end
    local h = plan.headers
    plan.headers_add_only = h and h.add and not (h.remove or h.rename or h.replace or h.append)
    plans[conf] = plan
    return plan
end



-- Only additions: no copy of the request's headers, one lookup per name.
-- Templates are rendered first, as Kong renders them all before it sets
-- any header.
local function add_header(e, value)
    if value ~= nil and not e.host and kong.request.get_header(e.name) == nil then
        kong.service.request.set_header(e.name, value)
    end
end

local function add_headers(list, env)
    local n = #list
    if not env then
        for i = 1, n do
            local e = list[i]
            add_header(e, e.value)
        end
        return
    end
    local values = {}
    for i = 1, n do
        values[i] = render(list[i].value, env)
    end
    for i = 1, n do
        add_header(list[i], values[i])
    end
end

local function transform_headers(h, env)
    local headers = kong.request.get_headers()
    local to_clear = {}
    headers.host = nil
    for _, e in ipairs(h.remove or {}) do
        render(e.value, env)
        local name = lower(e.name)
        if headers[name] then
            headers[name] = nil
            to_clear[name] = true
        end
    end
    for _, e in ipairs(h.rename or {}) do
        local old_name, new_name = e.name, render(e.value, env)
        local lo, ln = lower(old_name), lower(new_name or "")
        local moved
        if lo == ln then
            moved = multivalue.rename(headers, old_name, new_name)
        else
            moved = multivalue.rename(headers, lo, ln)
        end
        if moved then
            to_clear[old_name] = true
        end
    end
    for _, e in ipairs(h.replace or {}) do
        local value = render(e.value, env)
        local name = lower(e.name)
        if headers[name] or name == HOST then
            headers[name] = value
        end
    end
    for _, e in ipairs(h.add or {}) do
        local value = render(e.value, env)
        if not headers[e.name] and lower(e.name) ~= HOST then
            headers[e.name] = value
        end
    end
    for _, e in ipairs(h.append or {}) do
        local value = render(e.value, env)
        local name = e.name
        local name_lc = lower(name)
        if name_lc ~= HOST and name ~= name_lc and headers[name] ~= nil then
            -- keep the value, take the configured case
            headers[name] = headers[name]
            headers[name_lc] = nil
        end
        headers[name] = multivalue.append(headers[name], value)
    end
    for name in pairs(to_clear) do
        kong.service.request.clear_header(name)
    end
    kong.service.request.set_headers(headers)
end

local function transform_querystring(q, env)
    local query
    if env then
        query = cycle_aware_deep_copy(template.query_params(env))
    else
        query = kong.request.get_query()
    end
    for _, e in ipairs(q.remove or {}) do
        render(e.value, env)
        query[e.name] = nil
    end
    for _, e in ipairs(q.rename or {}) do
        multivalue.rename(query, e.name, render(e.value, env))
    end
    for _, e in ipairs(q.replace or {}) do
        local value = render(e.value, env)
        if query[e.name] then
            query[e.name] = value
        end
    end
    for _, e in ipairs(q.add or {}) do
        local value = render(e.value, env)
        if not query[e.name] then
            query[e.name] = value
        end
    end
    for _, e in ipairs(q.append or {}) do
        query[e.name] = multivalue.append(query[e.name], render(e.value, env))
    end
    kong.service.request.set_query(query)
end

-- GET, HEAD and TRACE carry a form body's arguments into the querystring.
local function transform_method(method)
    kong.service.request.set_method(upper(method))
    if method ~= "GET" and method ~= "HEAD" and method ~= "TRACE" then
        return
    end
    if body.content_type(kong.request.get_header("Content-Type")) ~= body.ENCODED then
        return
    end
    local args = body.decode_args(kong.request.get_raw_body())
    if type(args) ~= "table" or next(args) == nil then
        return
    end
    local query = kong.request.get_query()
    for name, value in pairs(args) do
        local cur = query[name]
        if cur then
            if type(cur) == "table" then
                multivalue.append(cur, value)
            else
                query[name] = { cur, value }
            end
        else
            query[name] = value
        end
    end
    kong.service.request.set_query(query)
end

function _M.execute(conf)
    local plan = plans[conf] or prepare(conf)
    local env = plan.dynamic and template.new_env() or nil
    if plan.uri then
        local path = render(plan.uri, env)
        if path then
            kong.service.request.set_path(path)
        end
    end
    if conf.http_method then
        transform_method(conf.http_method)
    end
    local h = plan.headers
    if h then
        if plan.headers_add_only then
            add_headers(h.add, env)
        else
            transform_headers(h, env)
        end
    end
    if plan.body then
        body.transform(plan.body, env, render)
    end
    if plan.querystring then
        transform_querystring(plan.querystring, env)
    end
end

return _M
