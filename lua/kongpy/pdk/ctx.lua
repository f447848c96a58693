-- kong.ctx: per-request tables. `shared` is seen by every plugin of a request,
-- `plugin` only by the plugin instance that is running.
--
-- The runner records the running instance in ngx.ctx.kongpy_plugin (one
-- field write per handler call: a handler may yield, so a per-worker variable
-- would be overwritten by another request meanwhile). init_worker runs
-- handlers one after the other without yielding, so it uses a module field.
local ngx = ngx
local get_phase = ngx.get_phase
local setmetatable = setmetatable

local _M = {
    -- the plugin whose init_worker handler runs (set by the runner)
    init_worker_plugin = nil,
}

-- The compiled instance running in this request ({name, id, conf, ...}), or
-- nil outside plugin code.
function _M.running()
    local p = get_phase()
    if p == "init_worker" then
        return _M.init_worker_plugin
    end
    if p == "timer" or p == "init" then
        return nil
    end
    return ngx.ctx.kongpy_plugin
end

local function shared()
    local ctx = ngx.ctx
    local t = ctx.kongpy_shared
    if not t then
        t = {}
        ctx.kongpy_shared = t
    end
    return t
end

-- Keyed by instance id: each instance has its own table, as Kong documents.
local function plugin()
    local ctx = ngx.ctx
    local inst = ctx.kongpy_plugin
    if not inst then
        return nil
    end
    local all = ctx.kongpy_plugin_ctx
    if not all then
        all = {}
        ctx.kongpy_plugin_ctx = all
    end
    local key = inst.id or inst.name
    local t = all[key]
    if not t then
        t = {}
        all[key] = t
    end
    return t
end

return setmetatable(_M, {
    __index = function(_, key)
        if key == "shared" then
            return shared()
        elseif key == "plugin" then
            return plugin()
        end
    end,
})
