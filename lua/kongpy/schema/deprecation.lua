-- Deprecation warnings: a field declaring `deprecation` logs its message
-- when a value is given for it, once per message and process (a config is
-- validated many times; the log should say it once). Through
-- kong.log.deprecation when a kong global offers it, else ngx.log(WARN).
local deep_equal = require("kongpy.schema.util").deep_equal

local ngx = ngx
local log = ngx.log
local WARN = ngx.WARN

local type = type
local rawget = rawget
local format = string.format
local concat = table.concat
local select = select

local _M = {}

local logged = {}
-- what a caller collects besides the log (the control plane's helper, whose
-- own log nobody reads, hands the warnings to the Admin API's log)
local sink

local function decorate(message, after, removal)
    if after and removal then
        return format("%s (deprecated after %s, scheduled for removal in %s)", message,
                      after, removal)
    elseif after then
        -- Penlight's raise_deprecation, which Kong's deprecation uses
        return format("%s (deprecated after %s)", message, after)
    elseif removal then
        return format("%s (scheduled for removal in %s)", message, removal)
    end
    return message
end

local function write(text)
    local kong = rawget(_G, "kong")
    local klog = type(kong) == "table" and kong.log
    local dep = klog and klog.deprecation
    if type(dep) == "table" and dep.write then
        dep.write(text)
    elseif type(dep) == "function" then
        dep(text)
    else
        log(WARN, text)
    end
end

-- deprecation(part, ..., { after = "4.0", removal = "5.0" })
function _M.raise(...)
    local n = select("#", ...)
    local last = select(n, ...)
    local opts
    if type(last) == "table" then
        opts = last
        n = n - 1
    end
    local text = decorate(concat({ ... }, "", 1, n), opts and opts.after,
                          opts and opts.removal)
    -- Kong logs each validation's warnings: the collected ones are never
    -- deduplicated (an Admin API write logs them every time)
    if sink then
        sink[#sink + 1] = text
    end
    if logged[text] then
        return
    end
    logged[text] = true
    write(text)
end

-- Start collecting the warnings raised from now on; take() hands them over.
function _M.collect()
    sink = sink or {}
end

-- The warnings collected since the last call (nil when none).
function _M.take()
    if not sink or #sink == 0 then
        return nil
    end
    local out = sink
    sink = {}
    return out
end

-- A value was given for a field with `deprecation`: warn unless we run as a
-- data plane or the value is the documented old default.
function _M.field_used(field, value)
    local dep = field.deprecation
    if type(dep) ~= "table" or not dep.message then
        return
    end
    local kong = rawget(_G, "kong")
    local conf = type(kong) == "table" and kong.configuration
    if type(conf) == "table" and conf.role == "data_plane" then
        return
    end
    if dep.old_default ~= nil and deep_equal(value, dep.old_default) then
        return
    end
    _M.raise(dep.message, { after = dep.removal_in_version })
end

-- For tests: forget what was logged.
function _M.reset()
    logged = {}
end

function _M.was_logged(text)
    return logged[text] == true
end

return _M
