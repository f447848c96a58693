-- kong.tools.sandbox: loading of Lua code given through the Admin API
-- (`custom_fields_by_lua`, serverless functions, templates), Kong 3.9's API.
--
-- The node property `untrusted_lua` decides: `off` refuses to load any,
-- `sandbox` (the default) compiles it in the restricted environment of
-- kongpy.sandbox.environment, `on` gives it the whole global environment
-- (its own global writes stay in its own table). `untrusted_lua_sandbox_*`
-- list the modules `require` may load and extra globals. The properties are
-- read from kong.configuration once, when first needed (settings.json in the
-- workers, the helper's configuration in the control plane).
--
-- A compiled chunk is kept per worker, keyed by mode, code, chunk name and
-- the caller's `env` (compared entry by entry), so running the same snippet
-- on every request costs a table lookup instead of a `load`. Only text
-- chunks are ever loaded.
local environment = require("kongpy.sandbox.environment")

local load = load
local type = type
local next = next
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local error = error
local rawset = rawset
local rawequal = rawequal
local setmetatable = setmetatable
local find = string.find

local ERR_OFF = "loading of untrusted Lua code disabled because "
                .. "'untrusted_lua' config option is set to 'off'"
local ERR_NOT_STRING = "expected a string"
local ERR_BYTECODE = "loading of Lua bytecode is disabled"
local ERR_PARSING = "Error parsing function: "
local ERR_RETURN = "Bad return value from function, expected function type, got "
local DEFAULT_MODE = "sandbox"
-- distinct snippets kept per mode, and variants (chunk name, env) per snippet
local MAX_CODES = 1000
local MAX_VARIANTS = 8

local _M = {}

local function get_conf(name)
    local k = kong
    local conf = type(k) == "table" and k.configuration
    return type(conf) == "table" and conf[name] or nil
end

local function list_conf(name)
    local v = get_conf(name)
    if type(v) ~= "table" then
        return {}
    end
    local out = {}
    for i, item in ipairs(v) do
        out[i] = item
    end
    return out
end

local cache = {}
local compiled = 0

local lazy = {
    mode = function()
        local mode = get_conf("untrusted_lua")
        return type(mode) == "string" and mode or DEFAULT_MODE
    end,
    enabled = function(self)
        return self.mode ~= "off"
    end,
    sandbox_enabled = function(self)
        return self.mode == "sandbox"
    end,
    requires = function()
        local set = {}
        for _, name in ipairs(list_conf("untrusted_lua_sandbox_requires")) do
            set[name] = true
        end
        return set
    end,
    env_vars = function()
        return list_conf("untrusted_lua_sandbox_environment")
    end,
    environment = function(self)
        return environment.build(self.requires, self.env_vars)
    end,
}

local configuration

-- configuration.clear() or configuration:clear(), as Kong's tests call it
local function clear()
    for k in pairs(configuration) do
        configuration[k] = nil
    end
    cache = {}
end

-- Kong's `sandbox.configuration`: lazily computed values, `clear`/`reload`
-- to read the properties again (and drop every compiled chunk).
configuration = setmetatable({}, {
    __index = function(self, key)
        if key == "clear" or key == "reload" then
            return clear
        elseif key == "err_msg" then
            return ERR_OFF
        end
        local l = lazy[key]
        if not l then
            return nil
        end
        local v = l(self)
        rawset(self, key, v)
        return v
    end,
})
_M.configuration = configuration

local function same_env(a, b)
    if a == nil or b == nil then
        return (a == nil or next(a) == nil) and (b == nil or next(b) == nil)
    end
    local n = 0
    for k, v in pairs(a) do
        if not rawequal(b[k], v) then
            return false
        end
        n = n + 1
    end
    for _ in pairs(b) do
        n = n - 1
    end
    return n == 0
end

local function copy(t)
    local out = {}
    if t then
        for k, v in pairs(t) do
            out[k] = v
        end
    end
    return out
end

local function compile(chunk, chunkname, env, mode)
    local chunk_env
    if mode == "sandbox" then
        chunk_env = environment.for_chunk(configuration.environment, env)
    else
        chunk_env = setmetatable(copy(env), { __index = _G })
    end
    local fn, err = load(chunk, chunkname, "t", chunk_env)
    if not fn then
        error(err, 0)
    end
    compiled = compiled + 1
    return fn
end

local function cached(chunk, chunkname, env, mode)
    local by_code = cache[mode]
    if not by_code then
        by_code = { n = 0, codes = {} }
        cache[mode] = by_code
    end
    local variants = by_code.codes[chunk]
    if variants then
        for i = 1, #variants do
            local v = variants[i]
            if v.chunkname == chunkname and same_env(v.env, env) then
                return v.fn
            end
        end
    end
    local fn = compile(chunk, chunkname, env, mode)
    if not variants then
        if by_code.n >= MAX_CODES then
            by_code.n, by_code.codes = 0, {}
        end
        variants = {}
        by_code.codes[chunk] = variants
        by_code.n = by_code.n + 1
    end
    if #variants < MAX_VARIANTS then
        variants[#variants + 1] = { chunkname = chunkname, env = env and copy(env), fn = fn }
    end
    return fn
end

-- sandbox(code, opts) or Kong's older sandbox(code, chunkname, mode, env):
-- the compiled chunk (a function), or an error raised with the message of
-- `load`, or Kong's message when `untrusted_lua` is `off`.
function _M.sandbox(chunk, chunkname_or_opts, mode, env)
    if not configuration.enabled then
        error(ERR_OFF, 0)
    end
    local chunkname = chunkname_or_opts
    if type(chunkname_or_opts) == "table" then
        chunkname = chunkname_or_opts.chunkname or chunkname_or_opts.chunk_name
        mode = mode or chunkname_or_opts.mode
        env = env or chunkname_or_opts.env
    end
    if type(chunk) ~= "string" then
        error(ERR_NOT_STRING, 0)
    end
    if mode ~= nil and mode ~= "t" then
        if type(mode) ~= "string" or find(mode, "b", 1, true) then
            error(ERR_BYTECODE, 0)
        end
    end
    return cached(chunk, chunkname, env, configuration.mode)
end

-- Compiles and runs the code, which must return a function (Kong's
-- serverless functions): the function, or false and the error.
function _M.validate_function(chunk, chunkname_or_opts, mode, env)
    local ok, fn = pcall(_M.sandbox, chunk, chunkname_or_opts, mode, env)
    if not ok then
        return false, ERR_PARSING .. fn
    end
    local success, ret = pcall(fn)
    if not success then
        return false, ret
    end
    if type(ret) == "function" then
        return ret
    end
    return false, ERR_RETURN .. type(ret)
end

function _M.parse(chunk, chunkname_or_opts, mode, env)
    local fn, err = _M.validate_function(chunk, chunkname_or_opts, mode, env)
    if not fn then
        error(err, 2)
    end
    return fn
end

function _M.validate(chunk, chunkname_or_opts, mode, env)
    local _, err = _M.validate_function(chunk, chunkname_or_opts, mode, env)
    if err then
        return false, err
    end
    return true
end

-- For schemas: compiles without running anything (Kong issue #5110).
function _M.validate_safe(chunk, chunkname_or_opts, mode, env)
    local ok, err = pcall(_M.sandbox, chunk, chunkname_or_opts, mode, env)
    if not ok then
        return false, ERR_PARSING .. err
    end
    return true
end

-- Chunks compiled by this worker so far (cache misses).
function _M.compiled()
    return compiled
end

return _M
