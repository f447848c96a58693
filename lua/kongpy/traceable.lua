-- Replaces the resty.core functions of the request path whose last act is a
-- tail call into a LuaJIT fast function (`return ffi.string(...)`,
-- `return tonumber(...)`): ngx.var's getter, ngx.header's getter, ngx.now,
-- ngx.time and ngx.req.start_time. Same FFI calls, same results and errors;
-- only the value goes through a local before it is returned.
--
-- Why: LuaJIT starts a trace at a function that interpreted code calls often.
-- A trace that began in such a function cannot return through a tail-called
-- fast function to the frame below ("NYI: return to lower frame",
-- "leaving loop in root trace at tonumber"); after a few failed attempts the
-- function is blacklisted, and from then on every trace that calls it aborts
-- too ("blacklisted at var.lua:68"). While a worker warms up its handlers run
-- interpreted and call these functions on every request, so under key-auth,
-- rate-limiting or logging load the whole access phase ended up interpreted
-- (jit.v, bench/README.md "Traces"). Applied once in init_by_lua, before any
-- module keeps a local copy of the originals.
local ffi = require("ffi")
local base = require("resty.core.base")
require("resty.core.var")
require("resty.core.time")
require("resty.core.request")

local C = ffi.C
local ffi_str = ffi.string
local ffi_cast = ffi.cast
local get_request = base.get_request
local get_string_buf = base.get_string_buf
local get_size_ptr = base.get_size_ptr
local new_tab = base.new_tab

local ngx = ngx
local error = error
local type = type
local tostring = tostring
local tonumber = tonumber
local getmetatable = getmetatable
local jit = require("jit")

local ERR_NO_REQUEST = "no request found"
local ERR_BAD_NAME = "bad variable name"
local ERR_BAD_CONTEXT = "API disabled in the current context"
local NGX_OK = 0
local NGX_ERROR = -1
local MAX_HEADER_VALUES = 100

local http = ngx.config.subsystem == "http"

local _M = {}

local function var_getter()
    local ffi_get = http and C.ngx_http_lua_ffi_var_get or C.ngx_stream_lua_ffi_var_get
    local value_ptr = ffi.new("unsigned char *[1]")
    local errmsg = base.get_errmsg_ptr()
    return function(_, name)
        local r = get_request()
        if not r then
            error(ERR_NO_REQUEST)
        end
        local value_len = get_size_ptr()
        local rc
        if type(name) == "number" then
            rc = ffi_get(r, nil, 0, nil, name, value_ptr, value_len, errmsg)
        else
            if type(name) ~= "string" then
                error(ERR_BAD_NAME, 2)
            end
            local len = #name
            rc = ffi_get(r, name, len, get_string_buf(len), 0, value_ptr, value_len, errmsg)
        end
        if rc == NGX_OK then
            local value = ffi_str(value_ptr[0], value_len[0])
            return value
        end
        if rc == NGX_ERROR then
            error(ffi_str(errmsg[0]), 2)
        end
        -- NGX_DECLINED (-5): no such variable, or no value
        return nil
    end
end

local function header_getter()
    local str_type = ffi.typeof("ngx_http_lua_ffi_str_t*")
    local str_size = ffi.sizeof("ngx_http_lua_ffi_str_t")
    local errmsg = base.get_errmsg_ptr()
    local ffi_get = C.ngx_http_lua_ffi_get_resp_header
    return function(_, key)
        local r = get_request()
        if not r then
            error(ERR_NO_REQUEST)
        end
        if type(key) ~= "string" then
            key = tostring(key)
        end
        local len = #key
        local key_buf = get_string_buf(len + str_size * MAX_HEADER_VALUES)
        local values = ffi_cast(str_type, key_buf + len)
        local n = ffi_get(r, key, len, key_buf, values, MAX_HEADER_VALUES, errmsg)
        if n == base.FFI_BAD_CONTEXT then
            error(ERR_BAD_CONTEXT, 2)
        end
        if n == 0 then
            return nil
        end
        if n == 1 then
            local v = values[0]
            local value = ffi_str(v.data, v.len)
            return value
        end
        if n > 0 then
            local list = new_tab(n, 0)
            for i = 1, n do
                local v = values[i - 1]
                list[i] = ffi_str(v.data, v.len)
            end
            return list
        end
        error(ffi_str(errmsg[0]), 2)
    end
end

-- luacheck: push ignore 122 (replacing ngx's fields is the point)
local function clock()
    local ffi_now = http and C.ngx_http_lua_ffi_now or C.ngx_stream_lua_ffi_now
    local ffi_time = http and C.ngx_http_lua_ffi_time or C.ngx_stream_lua_ffi_time
    local ffi_start = http and C.ngx_http_lua_ffi_req_start_time
                      or C.ngx_stream_lua_ffi_req_start_time
    ngx.now = function()
        local t = tonumber(ffi_now())
        return t
    end
    ngx.time = function()
        local t = tonumber(ffi_time())
        return t
    end
    ngx.req.start_time = function()
        local r = get_request()
        if not r then
            error(ERR_NO_REQUEST)
        end
        local t = tonumber(ffi_start(r))
        return t
    end
end
-- luacheck: pop

local applied = false

function _M.apply()
    if applied then
        return
    end
    applied = true
    getmetatable(ngx.var).__index = var_getter()
    if http then
        getmetatable(ngx.header).__index = header_getter()
    end
    clock()
    -- A request through a few plugins is one long trace: LuaJIT's default
    -- limits (4,000 IR instructions, 500 constants, 15 unrolled short
    -- loops) made its access phase abort ("trace too long", "loop unroll
    -- limit reached") until it was blacklisted. Room for the longest
    -- request paths, and for the traces a large configuration needs.
    jit.opt.start("maxtrace=8000", "maxrecord=16000", "maxirconst=2000", "loopunroll=60",
                  "minstitch=3", "maxmcode=40960")
end

return _M
