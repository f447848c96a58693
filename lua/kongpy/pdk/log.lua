-- kong.log: the error log as Kong writes it, "[kong] <file>:<line> [<plugin>]
-- <message>", one function per level; kong.log(...) is kong.log.notice(...).
-- The plugin name comes from the instance the runner says is running, so a
-- handler's lines are attributed even when it captured kong.log at load time.
local errlog = require("ngx.errlog")
local current = require("kongpy.pdk.ctx")
local serialize = require("kongpy.pdk.serialize")

local ngx = ngx
local get_phase = ngx.get_phase
local raw_log = errlog.raw_log
local get_sys_filter_level = errlog.get_sys_filter_level

local type = type
local pairs = pairs
local ipairs = ipairs
local select = select
local tostring = tostring
local setmetatable = setmetatable
local getinfo = debug.getinfo
local concat = table.concat
local sort = table.sort
local match = string.match
local format = string.format
local rep = string.rep

local LEVELS = {
    debug = ngx.DEBUG, info = ngx.INFO, notice = ngx.NOTICE, warn = ngx.WARN,
    err = ngx.ERR, crit = ngx.CRIT, alert = ngx.ALERT, emerg = ngx.EMERG,
}
local MAX_DEPTH = 8

local _M = {
    serialize = serialize.serialize,
    set_serialize_value = serialize.set_serialize_value,
    -- kongpy's own: the latencies of serialize() alone
    latencies = serialize.latencies,
}

local function enabled(level)
    return get_phase() == "init" or level <= get_sys_filter_level()
end

-- `depth`: stack level of the plugin's call, counted from here.
local function write(level, depth, msg)
    local info = getinfo(depth, "Sl")
    local src = info and match(info.short_src or "", "[^/]*$") or "?"
    local head = "[kong] " .. src .. ":" .. (info and info.currentline or "?") .. " "
    local inst = current.running()
    if inst then
        head = head .. "[" .. inst.name .. "] "
    end
    raw_log(level, head .. msg)
end

local function join(sep, n, ...)
    local buf = {}
    for i = 1, n do
        buf[i] = tostring((select(i, ...)))
    end
    return concat(buf, sep, 1, n)
end

-- No tail calls below: they would take the plugin's frame off the stack.
for name, level in pairs(LEVELS) do
    _M[name] = function(...)
        if enabled(level) then
            write(level, 3, join("", select("#", ...), ...))
        end
    end
end

-- kong.log.inspect: arguments pretty-printed, separated by spaces.
local render

local function key_order(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then
        return ta < tb
    end
    if ta == "number" or ta == "string" then
        return a < b
    end
    return tostring(a) < tostring(b)
end

local function render_table(t, indent, seen, depth)
    if seen[t] then
        return "<cycle>"
    end
    if depth > MAX_DEPTH then
        return "{...}"
    end
    seen[t] = true
    local keys = {}
    for k in pairs(t) do
        keys[#keys + 1] = k
    end
    if #keys == 0 then
        seen[t] = nil
        return "{}"
    end
    sort(keys, key_order)
    local pad = rep("  ", indent + 1)
    local lines = {}
    for i, k in ipairs(keys) do
        local label = type(k) == "string" and match(k, "^[%a_][%w_]*$") and k
                      or "[" .. render(k, indent + 1, seen, depth + 1) .. "]"
        lines[i] = pad .. label .. " = " .. render(t[k], indent + 1, seen, depth + 1)
    end
    seen[t] = nil
    return "{\n" .. concat(lines, ",\n") .. "\n" .. rep("  ", indent) .. "}"
end

render = function(v, indent, seen, depth)
    local tv = type(v)
    if tv == "string" then
        return format("%q", v)
    elseif tv == "table" then
        return render_table(v, indent, seen, depth)
    end
    return tostring(v)
end

local inspect_on = true

local function inspect(...)
    if not inspect_on or not enabled(LEVELS.notice) then
        return
    end
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do
        parts[i] = render((select(i, ...)), 0, {}, 1)
    end
    write(LEVELS.notice, 4, "\n" .. concat(parts, " ", 1, n))
end

_M.inspect = setmetatable({
    on = function() inspect_on = true end,
    off = function() inspect_on = false end,
}, {
    __call = function(_, ...)
        inspect(...)
    end,
})

-- kong.log.deprecation(...): a warning; a trailing table may say
-- {after = "x", removal = "y", trace = true}.
function _M.deprecation(...)
    if not enabled(LEVELS.warn) then
        return
    end
    local n = select("#", ...)
    local meta = n > 0 and select(n, ...)
    if type(meta) == "table" then
        n = n - 1
    else
        meta = nil
    end
    local msg = join("", n, ...)
    if meta then
        if meta.after and meta.removal then
            msg = msg .. " (deprecated after " .. meta.after .. ", scheduled for removal in "
                  .. meta.removal .. ")"
        elseif meta.after then
            msg = msg .. " (deprecated after " .. meta.after .. ")"
        elseif meta.removal then
            msg = msg .. " (scheduled for removal in " .. meta.removal .. ")"
        end
        if meta.trace then
            msg = msg .. "\n" .. debug.traceback("", 2)
        end
    end
    write(LEVELS.warn, 3, msg)
end

return setmetatable(_M, {
    __call = function(_, ...)
        if enabled(LEVELS.notice) then
            write(LEVELS.notice, 3, join("", select("#", ...), ...))
        end
    end,
})
