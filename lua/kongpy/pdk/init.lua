-- The plugin development kit: the only API plugins call, Kong 3.9's `kong.*`
-- (kongpy.init also makes it the global `kong`). Everything here is read
-- lazily, so requiring it costs nothing before the settings are loaded.
local settings = require("kongpy.settings")
local workspace = require("kongpy.workspace")
local tracing = require("kongpy.pdk.tracing")

local error = error
local tonumber = tonumber
local setmetatable = setmetatable
local match = string.match

-- kong.configuration: the node's properties (secrets masked), read-only.
local configuration = setmetatable({
    remove_sensitive = function()
        return settings.configuration
    end,
}, {
    __index = function(_, key)
        return settings.configuration[key]
    end,
    __newindex = function()
        error("cannot write to configuration", 2)
    end,
})

local cache = require("kongpy.pdk.cache")

local kong = {
    request = require("kongpy.pdk.request"),
    response = require("kongpy.pdk.response"),
    service = require("kongpy.pdk.service"),
    client = require("kongpy.pdk.client"),
    ctx = require("kongpy.pdk.ctx"),
    log = require("kongpy.pdk.log"),
    cache = cache,
    -- Kong's cache of core entities is the same cache here
    core_cache = cache,
    db = require("kongpy.pdk.dao"),
    node = require("kongpy.pdk.node"),
    router = require("kongpy.pdk.router"),
    ip = require("kongpy.pdk.ip"),
    nginx = require("kongpy.pdk.nginx"),
    table = require("kongpy.pdk.table"),
    plugin = require("kongpy.pdk.plugin"),
    vault = require("kongpy.pdk.vault"),
    tracing = tracing.tracing,
    telemetry = tracing.telemetry,
    worker_events = require("kongpy.pdk.events"),
    cluster_events = require("kongpy.pdk.cluster_events"),
    configuration = configuration,
    -- the id of the only workspace (kongpy.workspace)
    default_workspace = workspace.id,
    -- kongpy's own: entity indexes and the authentication plugins' helpers
    store = require("kongpy.pdk.store"),
    auth = require("kongpy.pdk.auth"),
}

-- kong.version ("3.9.1", the Kong release implemented) and kong.version_num
-- (30901), from the settings file once it is loaded.
local function version_num(v)
    local major, minor, patch = match(v, "^(%d+)%.(%d+)%.(%d+)")
    return major and tonumber(major) * 10000 + tonumber(minor) * 100 + tonumber(patch)
end

return setmetatable(kong, {
    __index = function(_, key)
        if key == "version" then
            return settings.kong_version
        elseif key == "version_num" then
            return version_num(settings.kong_version)
        end
    end,
})
