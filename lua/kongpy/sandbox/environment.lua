-- The environment of sandboxed Lua (`untrusted_lua = sandbox`), built once
-- per worker from Kong's whitelist (kongpy.sandbox.whitelist), the
-- `untrusted_lua_sandbox_environment` globals and a `require` limited to
-- `untrusted_lua_sandbox_requires`.
--
-- Every table the code reaches (kong, kong.request, ngx, ngx.re, string, ...)
-- is an empty proxy over a private copy of the allowed names: any write to it
-- fails with Kong's "Cannot modify <name>. Protected by the sandbox.", so one
-- snippet can neither change the real kong/ngx/string tables nor what another
-- snippet sees. Only the top level is per chunk (globals a snippet sets stay
-- in its own environment). Kong's exceptions are kept: ngx.ctx, ngx.status,
-- ngx.var, ngx.arg, ngx.header and kong.ctx.shared/plugin are the real
-- per-request objects; kong.configuration is a read-only view.
local whitelist = require("kongpy.sandbox.whitelist")

local error = error
local pairs = pairs
local ipairs = ipairs
local type = type
local rawequal = rawequal
local require = require
local getmetatable = getmetatable
local setmetatable = setmetatable
local format = string.format
local gmatch = string.gmatch
local match = string.match

local ERR_PROTECTED = "Cannot modify %s.%s. Protected by the sandbox."
local ERR_REQUIRE = "require '%s' not allowed within sandbox"

local _M = {}

local function deny(path)
    return function(_, k)
        error(format(ERR_PROTECTED, path, k), 0)
    end
end

-- per-request objects of ngx, reached through the real ngx each time
local NGX_DYNAMIC = { ctx = true, status = true, headers_sent = true, is_subrequest = true,
                      var = true, arg = true, header = true }
local NGX_WRITABLE = { ctx = true, status = true }

local function readonly(t, path)
    return setmetatable({}, {
        __index = function(_, k)
            local v = t[k]
            if type(v) == "table" then
                return readonly(v, path .. "." .. k)
            end
            return v
        end,
        __newindex = deny(path),
        __metatable = false,
    })
end

local function proxy(path, backing, real)
    local mt = { __index = backing, __newindex = deny(path), __metatable = false }
    local real_mt = type(real) == "table" and getmetatable(real)
    if type(real_mt) == "table" and real_mt.__call then
        -- kong.log(...), kong.log.inspect(...)
        mt.__call = function(_, ...)
            return real(...)
        end
    end
    if path == "ngx" then
        mt.__index = function(_, k)
            local v = backing[k]
            if v == nil and NGX_DYNAMIC[k] then
                return ngx[k]
            end
            return v
        end
        mt.__newindex = function(_, k, v)
            if not NGX_WRITABLE[k] then
                error(format(ERR_PROTECTED, path, k), 0)
            end
            ngx[k] = v
        end
    end
    return setmetatable({}, mt)
end

-- kong.cache:get(...) and kong.db.consumers:select(...) run on the real
-- object, looked up at call time (DAOs come and go with the configuration).
local function method(path, f)
    local owner = match(path, "^(.*)%.[^.]+$")
    local dao = match(owner, "^kong%.db%.(.+)$")
    if dao then
        return function(_, ...)
            local o = kong.db[dao]
            return o[f](o, ...)
        end
    end
    return function(_, ...)
        local o = kong.cache
        return o[f](o, ...)
    end
end

local function real_at(path)
    local v = _G
    for part in gmatch(path, "[^.]+") do
        if type(v) ~= "table" then
            return nil
        end
        v = v[part]
    end
    return v
end

-- A tree of nodes {path, backing, real}, one per table the code may reach.
local function node(parent, name)
    local n = parent.children[name]
    if not n then
        local path = parent.path and (parent.path .. "." .. name) or name
        -- DAOs are looked up at call time, never while building
        local real = not match(path, "^kong%.db") and real_at(path) or nil
        n = { path = path, backing = {}, children = {}, real = real }
        parent.children[name] = n
    end
    return n
end

local function add(root, path, value)
    local parent = root
    local last
    for part in gmatch(path, "[^.]+") do
        if last then
            parent = node(parent, last)
        end
        last = part
    end
    if last and parent.children[last] == nil then
        parent.backing[last] = value
    end
end

local function whitelisted(root, list)
    for path in gmatch(list, "%S+") do
        local f = match(path, "^kong%.db%.[^.]+%.([^.]+)$") or match(path, "^kong%.cache%.(.+)$")
        if f then
            add(root, path, method(path, f))
        else
            local v = real_at(path)
            if v ~= nil then
                add(root, path, v)
            end
        end
    end
end

-- Kong links extra globals by copy: a table is a new table reading through
-- to the original, so writes to it stay in the sandbox.
local function linked(root, names)
    for _, path in ipairs(names) do
        local v = real_at(path)
        if v ~= nil then
            if type(v) == "table" then
                v = setmetatable({}, { __index = v })
            end
            local parent = root
            local last
            for part in gmatch(path, "[^.]+") do
                if last then
                    parent = node(parent, last)
                end
                last = part
            end
            parent.children[last] = nil
            parent.backing[last] = v
        end
    end
end

local function finalize(n)
    for name, child in pairs(n.children) do
        n.backing[name] = proxy(child.path, finalize(child), child.real)
    end
    return n.backing
end

local function kong_extras(root)
    local k = root.children.kong
    if type(kong) ~= "table" or k == nil then
        return
    end
    local backing = k.backing
    if type(kong.configuration) == "table" then
        backing.configuration = readonly(kong.configuration, "kong.configuration")
    end
    if type(kong.ctx) == "table" then
        local ctx = kong.ctx
        local function through(field)
            return setmetatable({}, {
                __index = function(_, key) return ctx[field][key] end,
                __newindex = function(_, key, v) ctx[field][key] = v end,
                __metatable = false,
            })
        end
        backing.ctx = proxy("kong.ctx", { shared = through("shared"),
                                          plugin = through("plugin") })
    end
end

local function make_require(requires)
    return function(modname)
        if not requires[modname] then
            error(format(ERR_REQUIRE, modname), 0)
        end
        return require(modname)
    end
end

-- The top level of the sandbox: a plain table of views, copied per chunk.
function _M.build(requires, env_vars)
    local root = { children = {}, backing = {} }
    whitelisted(root, whitelist.lua)
    whitelisted(root, whitelist.handler)
    linked(root, env_vars or {})
    kong_extras(root)
    local env = finalize(root)
    env.require = make_require(requires or {})
    return env
end

-- A chunk's own environment: the base views, then the caller's `env`
-- (the real global kong, ngx, string, ... given there keep their views).
function _M.for_chunk(base, env)
    local out = {}
    for k, v in pairs(base) do
        out[k] = v
    end
    if env then
        for k, v in pairs(env) do
            if not (base[k] ~= nil and rawequal(v, _G[k])) then
                out[k] = v
            end
        end
    end
    out._G = out
    return out
end

return _M
