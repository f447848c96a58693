-- Benchmark-only wrapper of the data plane entry module, for profiling.
-- `python -m bench --profile S1` puts this directory first on the node's
-- lua_package_path, so require("kongpy") finds this file; it loads the real
-- module unchanged and only adds a per-worker timer that starts and stops
-- LuaJIT's sampling profiler (jit.p) or trace log (jit.v) on request, through a
-- command file `profile/profile.cmd` beside the prefix (the worker's user may
-- not read the prefix itself): "start <mode> <outfile>", "trace <outfile>" or
-- "stop".
local ngx = ngx
local io_open = io.open
local os_remove = os.remove
local require = require

local POLL = 0.2
local SELF = "bench/lua/?.lua"

local entries = {}
for entry in package.path:gmatch("[^;]+") do
    if entry:sub(-#SELF) ~= SELF then
        entries[#entries + 1] = entry
    end
end
local real = assert(package.searchpath("kongpy", table.concat(entries, ";")))
local _M = dofile(real)

local active = nil

local function command(cmd)
    local verb, a, b = cmd:match("^(%S+)%s*(%S*)%s*(%S*)")
    if active then
        -- jit.p stops with stop(), jit.v with off()
        local m = require(active)
        active = nil
        if m.stop then
            m.stop()
        else
            m.off()
        end
    end
    if verb == "start" then
        require("jit.p").start(a, b)
        active = "jit.p"
    elseif verb == "trace" then
        require("jit.v").start(a)
        active = "jit.v"
    end
end

local function poll(premature)
    if premature then
        return
    end
    -- the prefix's parent by name: resolving "<prefix>/.." would need
    -- search permission on the prefix
    local file = ngx.config.prefix():gsub("[^/]+/*$", "") .. "profile/profile.cmd"
    local f = io_open(file, "r")
    if not f then
        return
    end
    local cmd = f:read("*l") or ""
    f:close()
    os_remove(file)
    local ok, err = pcall(command, cmd)
    if not ok then
        ngx.log(ngx.ERR, "profile command '", cmd, "' failed: ", err)
    end
end

local init_worker = _M.init_worker
function _M.init_worker(...)
    init_worker(...)
    ngx.timer.every(POLL, poll)
end

return _M
