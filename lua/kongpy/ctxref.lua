-- Carries a request's ngx.ctx across nginx's internal redirect to the error
-- page (an unreachable upstream's 502 and the like), as Kong does, so the
-- plugins the request collected still run their header_filter, body_filter
-- and log there. A redirect drops the Lua module's per-request state, but
-- the ctx table stays in lua-resty-core's registry until the request ends,
-- and nginx variables survive the redirect: the table's reference goes in
-- $kongpy_ctx_ref.
local ffi = require("ffi")
local base = require("resty.core.base")
require("resty.core.ctx")  -- declares ngx_http_lua_ffi_get_ctx_ref

local C = ffi.C
local get_request = base.get_request
local ctxs = debug.getregistry().ngx_lua_ctx_tables

local ngx = ngx
local var = ngx.var
local tonumber = tonumber

local _M = {}

-- access, once the request's ngx.ctx exists (`ctx`); once per request: before
-- the plugins' access handlers when some have later phases (a runtime error
-- in one of them ends on the error page, whose header_filter still runs
-- them, as Kong, which stashes in rewrite), else when the request is proxied.
function _M.stash(ctx)
    if ctx.kongpy_ctx_stashed then
        return
    end
    local r = get_request()
    if not r then
        return
    end
    local ref = C.ngx_http_lua_ffi_get_ctx_ref(r, nil, nil)
    if ref > 0 then
        var.kongpy_ctx_ref = ref
        ctx.kongpy_ctx_stashed = true
    end
end

-- the error page's content handler: the stashed table, made ngx.ctx again
-- (nil when the request stashed none)
function _M.apply()
    local ref = tonumber(var.kongpy_ctx_ref)
    local ctx = ref and ctxs and ctxs[ref]
    if ctx then
        ngx.ctx = ctx
    end
    return ctx
end

return _M
