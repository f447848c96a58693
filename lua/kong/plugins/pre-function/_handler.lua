-- The handler of pre-function and post-function (Kong 3.9): the snippets of
-- each phase, compiled once per configuration (a weak-keyed cache on the
-- `conf` table, which lives as long as its configuration version) through
-- kong.tools.sandbox, so `untrusted_lua` decides what they may reach.
--
-- Kong's semantics: a snippet runs as is; one that returns a function has
-- only been initialised by its first run, and from then on that function is
-- what runs (its upvalues kept, per worker). A snippet ending the request
-- (`ngx.exit`, `kong.response.exit`) on its first run is run again as is
-- next time. An error raised by a snippet (or by its compilation, e.g. with
-- `untrusted_lua = off`) is the runner's: Kong's 500 and an error-log line.
local sandbox = require("kong.tools.sandbox")
local meta = require("kong.meta")

local kong = kong
local ngx = ngx
local type = type
local setmetatable = setmetatable

-- kongpy runs no certificate phase; the schema refuses code for it.
local PHASES = { "rewrite", "access", "header_filter", "body_filter", "log" }

-- one table for every snippet, so the sandbox's compile cache hits
local SANDBOX_OPTS = { env = { kong = kong, ngx = ngx } }

local function no_op()
end

-- The snippet as it runs per request: itself, or what its first run returned.
local function runnable(chunk)
    local fn = chunk
    local started = false
    return function()
        if started then
            return fn()
        end
        started = true
        local ret = chunk()
        if type(ret) == "function" then
            fn = ret
            return ret()
        end
    end
end

local function compile_phase(codes)
    local n = codes and #codes or 0
    if n == 0 then
        return no_op
    end
    if n == 1 then
        return runnable(sandbox.sandbox(codes[1], SANDBOX_OPTS))
    end
    local fns = {}
    for i = 1, n do
        fns[i] = runnable(sandbox.sandbox(codes[i], SANDBOX_OPTS))
    end
    return function()
        for i = 1, n do
            fns[i]()
        end
    end
end

local compiled = setmetatable({}, {
    __mode = "k",
    __index = function(self, conf)
        local phases = {}
        for _, phase in ipairs(PHASES) do
            phases[phase] = compile_phase(conf[phase])
        end
        self[conf] = phases
        return phases
    end,
})

return function(priority)
    local Handler = {
        PRIORITY = priority,
        VERSION = meta.version,
    }
    for _, phase in ipairs(PHASES) do
        Handler[phase] = function(_, conf)
            return compiled[conf][phase]()
        end
    end
    return Handler
end
