-- kong.tools.sandbox under each `untrusted_lua` mode: escapes refused in
-- `sandbox`, the listed requires and globals allowed, `on` unrestricted,
-- `off` refused, Kong's messages, one compilation per snippet.
local sandbox = require("kong.tools.sandbox")
local settings = require("kongpy.settings")
local eq = require("runner").eq

local cases = {}
local function case(name, fn)
    cases[#cases + 1] = { name, fn }
end

local ERR_OFF = "loading of untrusted Lua code disabled because "
                .. "'untrusted_lua' config option is set to 'off'"

-- runs fn with kong.configuration holding `conf`, then restores everything
local function with_conf(conf, fn)
    local saved_kong, saved_conf = rawget(_G, "kong"), settings.configuration
    rawset(_G, "kong", require("kongpy.pdk"))
    settings.configuration = conf
    sandbox.configuration.clear()
    local ok, err = pcall(fn)
    settings.configuration = saved_conf
    rawset(_G, "kong", saved_kong)
    sandbox.configuration.clear()
    if not ok then
        error(err, 0)
    end
end

local function run(code, opts)
    return sandbox.sandbox(code, opts)()
end

-- the error `code` raises when run in the sandbox
local function raised(code, opts)
    local ok, err = pcall(run, code, opts)
    eq(ok, false, code .. " succeeded")
    return tostring(err)
end

local function contains(s, part)
    if not s:find(part, 1, true) then
        error(("expected %q in %q"):format(part, s), 2)
    end
end

local SANDBOX = { untrusted_lua = "sandbox" }

case("the sandbox is the default mode", function()
    with_conf({}, function()
        eq(sandbox.configuration.mode, "sandbox")
        contains(raised("return os.execute('true')"), "os.execute")
    end)
end)

-- { code, part of the error }: each way out Kong's whitelist closes
local ESCAPES = {
    { "return os.execute('true')", "field 'execute'" },
    { "return os.getenv('HOME')", "field 'getenv'" },
    { "return io.open('/etc/passwd')", "field 'open'" },
    { "return require('os')", "require 'os' not allowed within sandbox" },
    { "return require('ffi')", "require 'ffi' not allowed within sandbox" },
    { "return load('return 1')", "global 'load'" },
    { "return loadstring('return 1')", "global 'loadstring'" },
    { "return dofile('/etc/passwd')", "global 'dofile'" },
    { "return string.dump(print)", "field 'dump'" },
    { "return getfenv(1)", "global 'getfenv'" },
    { "return setfenv(1, {})", "global 'setfenv'" },
    { "return setmetatable(kong, {})", "global 'setmetatable'" },
    { "return getmetatable('').__index", "global 'getmetatable'" },
    { "return rawset(string, 'x', 1)", "global 'rawset'" },
    { "return package.loaded", "global 'package'" },
    { "return debug.getinfo(1)", "global 'debug'" },
    { "kong.request = nil", "Cannot modify kong.request. Protected by the sandbox." },
    { "kong.request.get_header = nil",
      "Cannot modify kong.request.get_header. Protected by the sandbox." },
    { "kong.evil = 1", "Cannot modify kong.evil. Protected by the sandbox." },
    { "ngx.say = print", "Cannot modify ngx.say. Protected by the sandbox." },
    { "ngx.re.find = print", "Cannot modify ngx.re.find. Protected by the sandbox." },
    { "string.rep = print", "Cannot modify string.rep. Protected by the sandbox." },
    { "table.insert = print", "Cannot modify table.insert. Protected by the sandbox." },
}

for _, c in ipairs(ESCAPES) do
    case("sandbox refuses: " .. c[1], function()
        with_conf(SANDBOX, function()
            contains(raised(c[1]), c[2])
        end)
    end)
end

case("the real tables stay untouched, also when given in env", function()
    with_conf(SANDBOX, function()
        local real_rep, real_say = string.rep, ngx.say
        pcall(run, "string.rep = nil; ngx.say = nil", { env = { ngx = ngx, string = string } })
        eq(string.rep, real_rep, "string.rep")
        eq(ngx.say, real_say, "ngx.say")
        -- the views given for the real globals are the protected ones
        contains(raised("kong.log = 1", { env = { kong = kong, ngx = ngx } }),
                 "Cannot modify kong.log. Protected by the sandbox.")
        eq(run("return string.rep('a', 3) .. string.format('%d', 4)"), "aaa4")
    end)
end)

case("kong.configuration is a read-only view", function()
    with_conf({ untrusted_lua = "sandbox", proxy_listen = { "a" } }, function()
        eq(run("return kong.configuration.untrusted_lua"), "sandbox")
        eq(run("return kong.configuration.proxy_listen[1]"), "a")
        contains(raised("kong.configuration.proxy_listen[1] = 'b'"),
                 "Cannot modify kong.configuration.proxy_listen.1")
        contains(raised("kong.configuration.x = 1"), "Cannot modify kong.configuration.x")
    end)
end)

case("globals a snippet sets stay in its own environment", function()
    with_conf(SANDBOX, function()
        run("leaked = 1")
        eq(rawget(_G, "leaked"), nil, "global leaked")
        eq(run("x = 2; return _G.x"), 2)
    end)
end)

case("untrusted_lua_sandbox_requires: listed modules load, others do not", function()
    with_conf({ untrusted_lua = "sandbox",
                untrusted_lua_sandbox_requires = { "kong.tools.string" } }, function()
        eq(type(run("return require('kong.tools.string')")), "table")
        contains(raised("return require('io')"), "require 'io' not allowed within sandbox")
    end)
end)

case("untrusted_lua_sandbox_environment: dotted names and whole globals", function()
    with_conf({ untrusted_lua = "sandbox",
                untrusted_lua_sandbox_environment = { "os.getenv", "ngx.shared", "rawlen" } },
    function()
        eq(type(run("return os.getenv")), "function")
        eq(run("ngx.shared.kongpy_cache:set('k', 'v'); return ngx.shared.kongpy_cache:get('k')"),
           "v")
        eq(type(run("return os.time()")), "number")
        contains(raised("return os.execute('true')"), "field 'execute'")
    end)
end)

case("on: the whole global environment, global writes kept local", function()
    with_conf({ untrusted_lua = "on" }, function()
        eq(run("return os.getenv ~= nil and require('ffi') ~= nil"), true)
        eq(run("return type(load('return 1'))"), "function")
        run("on_leaked = 1")
        eq(rawget(_G, "on_leaked"), nil, "global leaked")
    end)
end)

case("off: every entry point refuses with Kong's message", function()
    with_conf({ untrusted_lua = "off" }, function()
        local ok, err = pcall(sandbox.sandbox, "return 1")
        eq(ok, false)
        eq(err, ERR_OFF)
        local valid, verr = sandbox.validate_safe("return 1")
        eq(valid, false)
        eq(verr, "Error parsing function: " .. ERR_OFF)
        eq(select(2, sandbox.validate("return function() end")),
           "Error parsing function: " .. ERR_OFF)
    end)
end)

case("a compile error is load's message, prefixed for validation", function()
    with_conf(SANDBOX, function()
        local ok, err = sandbox.validate_safe("return (")
        eq(ok, false)
        eq(err, "Error parsing function: [string \"return (\"]:1: "
                .. "unexpected symbol near '<eof>'")
    end)
end)

case("validate_safe does not run the code", function()
    with_conf(SANDBOX, function()
        eq(sandbox.validate_safe("error('ran')"), true)
    end)
end)

case("validate_function: the returned function, or Kong's messages", function()
    with_conf(SANDBOX, function()
        local fn = sandbox.validate_function("return function(a) return a + 1 end")
        eq(fn(1), 2)
        local ok, err = sandbox.validate_function("return 1")
        eq(ok, false)
        eq(err, "Bad return value from function, expected function type, got number")
        eq(sandbox.validate("return function() end"), true)
        eq(sandbox.validate("return 1"), false)
        eq(type(sandbox.parse("return function() end")), "function")
        eq(pcall(sandbox.parse, "return 1"), false)
    end)
end)

case("bytecode is never loaded", function()
    with_conf({ untrusted_lua = "on" }, function()
        local ok, err = pcall(sandbox.sandbox, "return 1", { mode = "bt" })
        eq(ok, false)
        eq(err, "loading of Lua bytecode is disabled")
    end)
end)

case("one compilation per snippet, chunk name and env", function()
    with_conf(SANDBOX, function()
        local code = "return 40 + 2"
        local before = sandbox.compiled()
        local first = sandbox.sandbox(code, { env = { kong = kong, ngx = ngx } })
        for _ = 1, 5 do
            eq(sandbox.sandbox(code, { env = { kong = kong, ngx = ngx } }), first)
        end
        eq(sandbox.compiled() - before, 1, "compilations")
        -- a different env is a different chunk
        local other = sandbox.sandbox(code, { env = { answer = 1 } })
        eq(other ~= first, true, "distinct env shares a chunk")
        eq(sandbox.compiled() - before, 2, "compilations")
    end)
end)

return cases
