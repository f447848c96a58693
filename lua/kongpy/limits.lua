-- Kong's lua_max_req_headers, lua_max_resp_headers, lua_max_uri_args and
-- lua_max_post_args: the number of request headers, response headers, query
-- and form arguments parsed when the caller names no limit of its own. As
-- Kong does, the parsers of the Lua module are replaced once in init_by_lua
-- (before any module keeps a local copy of them), so the PDK, the bundled
-- plugins and custom ones that call ngx.req.get_headers() and the like all
-- get the configured default; a result cut short says so in the error log
-- at notice level, in Kong's words. Proxying is not affected: nginx sends
-- every header and argument upstream.
--
--   require("kongpy.limits").apply()        -- init_by_lua, first
--   require("kongpy.limits").configure(t)   -- kong.configuration's values
local ngx = ngx
local log = ngx.log
local NOTICE = ngx.NOTICE

local type = type

local DEFAULT = 100

local _M = {
    req_headers = DEFAULT,
    resp_headers = DEFAULT,
    uri_args = DEFAULT,
    post_args = DEFAULT,
}

local applied = false

-- passes a parser's answer on, saying so when it was cut short
local function noted(notice, res, err)
    if err == "truncated" then
        log(NOTICE, notice)
    end
    return res, err
end

-- `parse(max, ...)` with this module's `field` when `max` is nil; `what`
-- names the parsed things in the notice of a truncated result.
local function with_default(parse, field, what)
    local notice = what .. " truncated"
    return function(max, ...)
        return noted(notice, parse(max or _M[field], ...))
    end
end

-- luacheck: push ignore 122 (replacing ngx's fields is the point)
function _M.apply()
    if applied then
        return
    end
    applied = true
    local req = ngx.req
    req.get_headers = with_default(req.get_headers, "req_headers", "request headers")
    req.get_uri_args = with_default(req.get_uri_args, "uri_args", "uri args")
    req.get_post_args = with_default(req.get_post_args, "post_args", "post args")
    if ngx.resp and ngx.resp.get_headers then
        ngx.resp.get_headers = with_default(ngx.resp.get_headers, "resp_headers",
                                            "response headers")
    end
    -- ngx.decode_args(str, max): Kong limits it by lua_max_uri_args too
    local decode_args = ngx.decode_args
    ngx.decode_args = function(str, max, ...)
        return noted("decode args truncated", decode_args(str, max or _M.uri_args, ...))
    end
end
-- luacheck: pop

local function limit(v)
    if type(v) == "number" and v >= 1 and v <= 1000 then
        return v
    end
    return DEFAULT
end

-- `conf`: kong.configuration (the control plane checked the values)
function _M.configure(conf)
    conf = conf or {}
    _M.req_headers = limit(conf.lua_max_req_headers)
    _M.resp_headers = limit(conf.lua_max_resp_headers)
    _M.uri_args = limit(conf.lua_max_uri_args)
    _M.post_args = limit(conf.lua_max_post_args)
end

return _M
