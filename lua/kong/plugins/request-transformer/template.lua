-- Templates in request-transformer values (`$(headers.x)`, `$(query_params["a-b"])`,
-- `$(uri_captures[1] or "none")`): Penlight's pl.template as Kong 3.9 calls
-- it (inline `$(...)`, the line escape moved to "\xff" so that `#` is plain
-- text). Penlight is not installed, so the same Lua is generated here:
-- a template that does not compile fails with the same message (the same
-- chunk name, the same line numbers) as in Kong.
--
-- Text without `$(...)` compiles to itself, so a static value costs nothing
-- per request. A dynamic one is compiled once per configuration; rendering
-- it runs the chunk with the request's environment behind its own small
-- table (Penlight's `render`), nothing is loaded per request.
local sandbox = require("kong.tools.sandbox")

local kong = kong
local load = load
local type = type
local xpcall = xpcall
local traceback = debug.traceback
local pairs = pairs
local ipairs = ipairs
local rawset = rawset
local tostring = tostring
local setmetatable = setmetatable
local error = error
local format = string.format
local find = string.find
local match = string.match
local sub = string.sub
local gmatch = string.gmatch
local concat = table.concat

local _G = _G
local ngx = ngx

local APPENDER = " __R_size = __R_size + 1; __R_table[__R_size] = "
local HEAD = "return function() local __R_size, __R_table, __tostring = 0, {}, __tostring; "
local TAIL = "return __R_table; end"
local EXEC_PAT = "()%$(%b())()"
local ESC_PAT1 = "^\255+([^\n]*\n?)"
local ESC_PAT2 = "\n\255+([^\n]*\n?)"
local CHUNK_NAME = "TMP"
local ERR_RENDER = "[request-transformer] failed to render the template %s, error:%s"
local ERR_READ_ONLY = "This environment is read-only."

local _M = {}

-- Penlight keeps the template's line layout in the generated Lua (every
-- piece ends a statement on the same line), so an error names the line of
-- the template itself: `[string "TMP"]:1:` for a one-line value.
local function dollar_paren(pieces, chunk)
    local s = 1
    for term, executed, e in gmatch(chunk, EXEC_PAT) do
        pieces[#pieces + 1] = APPENDER .. format("%q;", sub(chunk, s, term - 1))
        pieces[#pieces + 1] = APPENDER .. format("__tostring(%s or '');",
                                                 "(" .. sub(executed, 2, -2) .. ")")
        s = e
    end
    local rest = sub(chunk, s)
    if rest ~= "" then
        pieces[#pieces + 1] = APPENDER .. format("%q;", rest)
    end
end

-- The Lua Penlight generates for `text`, and whether it is one constant.
local function generate(text)
    local pieces, s = { HEAD }, 1
    while true do
        local _, e, lua = find(text, ESC_PAT1, s)
        if not e then
            local ss
            ss, e, lua = find(text, ESC_PAT2, s)
            dollar_paren(pieces, sub(text, s, ss))
            if not e then
                break
            end
        end
        if sub(lua, -1) ~= "\n" then
            lua = lua .. "\n"
        end
        pieces[#pieces + 1] = lua
        s = e + 1
    end
    pieces[#pieces + 1] = TAIL
    if #pieces == 3 and find(pieces[2], APPENDER, 1, true) == 1 then
        return "return " .. sub(pieces[2], #APPENDER + 1), true
    end
    return concat(pieces), false
end

-- compile(text): the text itself when it is constant, else a template
-- object; nil and `load`'s message when the generated Lua does not compile.
function _M.compile(text)
    local code, constant = generate(text)
    local env = { __tostring = tostring }
    local fn, err = load(code, CHUNK_NAME, "t", env)
    if not fn then
        return nil, err
    end
    if constant then
        return fn()
    end
    local mt = {}
    setmetatable(env, mt)
    return { fn = fn(), mt = mt, source = text }
end

-- A value that fails when rendered, with the message Kong raises then.
local function failing(source, err)
    return { source = source, err = err }
end

local LUA_OFF_PAT = "%$%(.*%)"

-- prepare(text): what the plugin keeps per configuration for a value,
-- following the node's `untrusted_lua`: off renders nothing (text with an
-- expression fails), sandbox and on compile it.
function _M.prepare(text)
    if text == nil or text == "" then
        return nil
    end
    if not sandbox.configuration.enabled then
        if find(text, LUA_OFF_PAT) then
            return failing(text, sandbox.configuration.err_msg)
        end
        return text
    end
    local tpl, err = _M.compile(text)
    if tpl == nil then
        -- Kong asserts the compilation when the value is first used
        return { source = text, raise = err }
    end
    return tpl
end

-- render(tpl, env): a prepared value as a string (or nil).
function _M.render(tpl, env)
    if type(tpl) ~= "table" then
        return tpl
    end
    if tpl.raise then
        error(tpl.raise, 0)
    end
    if tpl.err then
        error(format(ERR_RENDER, tpl.source, tpl.err), 0)
    end
    tpl.mt.__index = env
    local ok, out = xpcall(tpl.fn, traceback)
    tpl.mt.__index = nil
    if not ok then
        error(format(ERR_RENDER, tpl.source, tostring(out)), 0)
    end
    return concat(out)
end

function _M.is_dynamic(tpl)
    return type(tpl) == "table"
end

local EMPTY = setmetatable({}, { __newindex = function() error(ERR_READ_ONLY, 2) end })

local function uri_captures()
    local c = kong.request.get_uri_captures()
    local out = {}
    for i, v in pairs(c.unnamed) do
        out[i] = v
    end
    for k, v in pairs(c.named) do
        out[k] = v
    end
    return out
end

local loaders = {
    headers = function()
        return kong.request.get_headers() or EMPTY
    end,
    query_params = function()
        return kong.request.get_query() or EMPTY
    end,
    uri_captures = uri_captures,
    shared = function()
        return kong.ctx.shared or EMPTY
    end,
}

-- `untrusted_lua_sandbox_environment` names as Kong links them: each dotted
-- path copied from _G, a table behind a view of its own.
local function link(path, from, to)
    local head, rest = match(path, "([^%.]+)%.?(.*)")
    local v = head and from[head]
    if not v then
        return
    end
    if rest == "" then
        to[head] = type(v) == "table" and setmetatable({}, { __index = v }) or v
        return
    end
    to[head] = to[head] or {}
    link(rest, v, to[head])
end

-- The names a template sees besides the request's. In `sandbox` mode
-- Kong hands templates its sandbox configuration's environment, not the
-- whitelist that sandboxed functions run in: `require` (limited to
-- `untrusted_lua_sandbox_requires`), `kong`, `ngx`, the
-- `untrusted_lua_sandbox_environment` names, and `type`; `string`, `os`
-- and the rest are nil. In `on` mode every global. Built once per worker
-- and mode.
local bases = {}

local function base()
    local mode = sandbox.configuration.mode
    local b = bases[mode]
    if b == nil then
        if mode == "sandbox" then
            local env = sandbox.configuration.environment
            b = { type = type, require = env.require, kong = env.kong, ngx = ngx }
            for _, path in ipairs(sandbox.configuration.env_vars) do
                link(path, _G, b)
            end
            b._G = b
        else
            b = _G
        end
        bases[mode] = b
    end
    return b
end

-- One environment per request: the request's headers, query_params,
-- uri_captures and shared, each read when a template first names it.
local ENV_MT = {
    __index = function(self, key)
        local loader = loaders[key]
        if loader then
            local v = loader()
            rawset(self, key, v)
            return v
        end
        return base()[key]
    end,
    __newindex = function()
        error(ERR_READ_ONLY, 2)
    end,
}

function _M.new_env()
    return setmetatable({}, ENV_MT)
end

-- the request's query arguments, through the environment (Kong transforms
-- a copy of the same table)
function _M.query_params(env)
    return env.query_params
end

return _M
