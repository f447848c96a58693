-- kong.request: read-only views of the client request.
local cjson = require("cjson.safe")

local ngx = ngx
local var = ngx.var
local req = ngx.req
local get_headers = ngx.req.get_headers
local get_uri_args = ngx.req.get_uri_args
local get_post_args = ngx.req.get_post_args
local get_method = ngx.req.get_method
local re_match = ngx.re.match
local re_gmatch = ngx.re.gmatch

local type = type
local find = string.find
local sub = string.sub
local lower = string.lower
local io_open = io.open

local MAX_HEADERS = 100
local MAX_ARGS = 100
local ERR_NO_BODY = "missing body"
local ERR_MIME = "unsupported content type"
local ERR_JSON = "invalid json body"

local _M = {}

-- One header's values without building the table of all headers: the same
-- FFI calls ngx.req.get_headers() makes, but only the matching entries become
-- Lua strings.
local ffi = require("ffi")
local base = require("resty.core.base")
require("resty.core.request") -- declares the ngx_http_lua_ffi_req_get_headers* functions
local C = ffi.C
local ffi_cast = ffi.cast
local ffi_str = ffi.string
local get_request = base.get_request
local get_string_buf = base.get_string_buf
local gsub = string.gsub
local ELT_PTR = ffi.typeof("ngx_http_lua_ffi_table_elt_t*")
local ELT_SIZE = ffi.sizeof("ngx_http_lua_ffi_table_elt_t")
local truncated = ffi.new("int[1]")
local lookup_names = {}

-- get_headers()' own normalisation: lower case, underscores as dashes
local function lookup_name(name)
    local key = lookup_names[name]
    if not key then
        key = gsub(lower(name), "_", "-")
        lookup_names[name] = key
    end
    return key
end

-- What `get_headers()[name]` returns: nil, the value, or a table of the
-- values of a repeated header.
function _M.get_header_values(name)
    local r = get_request()
    if not r then
        error("no request found")
    end
    local n = C.ngx_http_lua_ffi_req_get_headers_count(r, MAX_HEADERS, truncated)
    if n <= 0 then
        return nil
    end
    local buf = ffi_cast(ELT_PTR, get_string_buf(n * ELT_SIZE))
    if C.ngx_http_lua_ffi_req_get_headers(r, buf, n, 0) ~= 0 then
        return get_headers(MAX_HEADERS)[name]
    end
    local key = lookup_name(name)
    local len = #key
    local found
    for i = 0, n - 1 do
        local k = buf[i].key
        if k.len == len and ffi_str(k.data, len) == key then
            local v = buf[i].value
            v = ffi_str(v.data, v.len)
            if found == nil then
                found = v
            elseif type(found) == "table" then
                found[#found + 1] = v
            else
                found = { found, v }
            end
        end
    end
    return found
end

function _M.get_header(name)
    return get_headers(MAX_HEADERS)[name]
end

function _M.get_headers(max)
    return get_headers(max or MAX_HEADERS)
end

function _M.get_query(max)
    return get_uri_args(max or MAX_ARGS)
end

function _M.get_query_arg(name)
    return get_uri_args(MAX_ARGS)[name]
end

function _M.get_method()
    return get_method()
end

function _M.get_scheme()
    return var.scheme
end

function _M.get_host()
    return var.host
end

function _M.get_port()
    return var.server_port
end

function _M.get_path()
    local uri = var.request_uri
    local q = find(uri, "?", 1, true)
    return q and sub(uri, 1, q - 1) or uri
end

function _M.get_raw_query()
    return var.args or ""
end

-- The path and query string exactly as the client sent them (no normalisation).
function _M.get_path_with_query()
    return var.request_uri or ""
end

-- 1.0, 1.1, 2.0 ... (a number, as Kong's kong.request.get_http_version).
function _M.get_http_version()
    return req.http_version()
end

-- The value of one cookie, or nil.
function _M.get_cookie(name)
    return var["cookie_" .. name]
end

-- The whole body, from memory or from the temp file nginx spooled it to.
function _M.get_raw_body()
    req.read_body()
    local body = req.get_body_data()
    if body then
        return body
    end
    local file = req.get_body_file()
    if not file then
        return ""
    end
    local f = io_open(file, "rb")
    if not f then
        return nil, ERR_NO_BODY
    end
    body = f:read("*a")
    f:close()
    return body
end

-- The size of the body in bytes, without copying a spooled body into memory.
function _M.get_body_size()
    req.read_body()
    local body = req.get_body_data()
    if body then
        return #body
    end
    local file = req.get_body_file()
    if not file then
        return 0
    end
    local f = io_open(file, "rb")
    if not f then
        return nil, ERR_NO_BODY
    end
    local size = f:seek("end")
    f:close()
    return size
end

local function multipart(body, ctype)
    local m = re_match(ctype, [[boundary="?([^";]+)"?]], "jo")
    if not m then
        return nil, ERR_MIME
    end
    local args = {}
    local rx = "--" .. m[1] .. [[\r\n((?:[^\r\n]+\r\n)*)\r\n(.*?)\r\n(?=--)]]
    local it = re_gmatch(body, rx, "jos")
    if not it then
        return args
    end
    while true do
        local part = it()
        if not part then
            break
        end
        local name = re_match(part[1], [[content-disposition:[^\r\n]*\bname="([^"]*)"]], "joi")
        if name then
            args[name[1]] = part[2]
        end
    end
    return args
end

-- Form, JSON or multipart bodies as a table; returns nil, err otherwise.
function _M.get_body()
    local ctype = lower(var.content_type or "")
    if find(ctype, "application/x-www-form-urlencoded", 1, true) then
        req.read_body()
        return get_post_args(MAX_ARGS), nil, "application/x-www-form-urlencoded"
    end
    local body, err = _M.get_raw_body()
    if not body then
        return nil, err
    end
    if find(ctype, "application/json", 1, true) then
        local t = cjson.decode(body)
        if type(t) ~= "table" then
            return nil, ERR_JSON
        end
        return t, nil, "application/json"
    end
    if find(ctype, "multipart/form-data", 1, true) then
        local t, merr = multipart(body, ctype)
        return t, merr, "multipart/form-data"
    end
    return nil, ERR_MIME
end

return _M
