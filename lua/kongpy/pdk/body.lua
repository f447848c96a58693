-- The request body and header readers behind kong.request: the raw body
-- (from memory or the temp file nginx spooled it to), Kong's decoded body
-- (form, JSON, multipart), and one header's values without building the
-- table of all headers.
local cjson = require("cjson.safe")
local ffi = require("ffi")
local base = require("resty.core.base")
local phase = require("kongpy.pdk.phase")
local checks = require("kongpy.pdk.checks")
local limits = require("kongpy.limits")
require("resty.core.request") -- declares the ngx_http_lua_ffi_req_get_headers* functions

local ngx = ngx
local var = ngx.var
local req = ngx.req
local get_headers = ngx.req.get_headers
local get_post_args = ngx.req.get_post_args
local re_match = ngx.re.match
local re_gmatch = ngx.re.gmatch
local check = phase.check

local type = type
local error = error
local find = string.find
local sub = string.sub
local lower = string.lower
local gsub = string.gsub
local io_open = io.open

local C = ffi.C
local ffi_cast = ffi.cast
local ffi_str = ffi.string
local get_request = base.get_request
local get_string_buf = base.get_string_buf

local POST = "application/x-www-form-urlencoded"
local JSON = "application/json"
local MULTIPART = "multipart/form-data"
local ERR_NO_BODY = "missing body"
local ERR_NO_TYPE = "missing content type"
local ERR_JSON = "invalid json body"
local ERR_MULTIPART = "unable to decode multipart body"
local ERR_FILE_SIZE = "multipart part larger than max_allowed_file_size"
local BEFORE_CONTENT = phase.new("rewrite", "access", "response", "error", "admin_api")

local _M = {}

local ELT_PTR = ffi.typeof("ngx_http_lua_ffi_table_elt_t*")
local ELT_SIZE = ffi.sizeof("ngx_http_lua_ffi_table_elt_t")
local truncated = ffi.new("int[1]")
local lookup_names = {}

-- get_headers()' own lookup: the lower-cased name, and only when no header
-- has it, the name with underscores as dashes (its __index fallback)
local function lookup_name(name)
    local key = lookup_names[name]
    if not key then
        local exact = lower(name)
        local dashed = gsub(exact, "_", "-")
        key = { exact, dashed ~= exact and dashed or nil }
        lookup_names[name] = key
    end
    return key[1], key[2]
end

local function add_value(found, v)
    if found == nil then
        return v
    elseif type(found) == "table" then
        found[#found + 1] = v
        return found
    end
    return { found, v }
end

-- What `get_headers()[name]` returns (nil, the value, or a table of the
-- values of a repeated header): the same FFI calls get_headers() makes, but
-- only the matching entries become Lua strings.
function _M.get_header_values(name)
    local r = get_request()
    if not r then
        error("no request found")
    end
    local n = C.ngx_http_lua_ffi_req_get_headers_count(r, limits.req_headers, truncated)
    if n <= 0 then
        return nil
    end
    local buf = ffi_cast(ELT_PTR, get_string_buf(n * ELT_SIZE))
    if C.ngx_http_lua_ffi_req_get_headers(r, buf, n, 0) ~= 0 then
        return get_headers()[name]
    end
    local key, dashed = lookup_name(name)
    local len = #key
    local found, found_dashed
    for i = 0, n - 1 do
        local k = buf[i].key
        if k.len == len then
            local s = ffi_str(k.data, len)
            if s == key then
                local v = buf[i].value
                found = add_value(found, ffi_str(v.data, v.len))
            elseif s == dashed then
                local v = buf[i].value
                found_dashed = add_value(found_dashed, ffi_str(v.data, v.len))
            end
        end
    end
    if found == nil then
        return found_dashed
    end
    return found
end

-- The whole body, unchecked (the control socket reads its pushes with it).
function _M.read()
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

-- Unlike Kong, a body nginx spooled to disk is read from there rather than
-- refused, so client_body_buffer_size is a memory setting only.
function _M.get_raw_body()
    check("kong.request.get_raw_body", BEFORE_CONTENT)
    return _M.read()
end

-- The size of the body in bytes, without copying a spooled body into memory.
function _M.get_body_size()
    check("kong.request.get_body_size", BEFORE_CONTENT)
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

local function add(args, name, value)
    local cur = args[name]
    if cur == nil then
        args[name] = value
    elseif type(cur) == "table" then
        cur[#cur + 1] = value
    else
        args[name] = { cur, value }
    end
end

-- multipart/form-data: name -> value (an array for a repeated name).
local function multipart(body, ctype, max_file_size)
    local m = re_match(ctype, [[boundary="?([^";]+)"?]], "joi")
    if not m then
        return nil, ERR_MULTIPART
    end
    local args = {}
    -- the boundary varies per request: quoted, and not kept in the regex cache
    local rx = [[--\Q]] .. m[1] .. [[\E\r\n((?:[^\r\n]+\r\n)*)\r\n(.*?)\r\n(?=--)]]
    local it = re_gmatch(body, rx, "js")
    if not it then
        return nil, ERR_MULTIPART
    end
    while true do
        local part = it()
        if not part then
            break
        end
        local name = re_match(part[1], [[content-disposition:[^\r\n]*\bname="([^"]*)"]], "joi")
        if name then
            if max_file_size and #part[2] > max_file_size then
                return nil, ERR_FILE_SIZE
            end
            add(args, name[1], part[2])
        end
    end
    return args
end

local function mime_of(ctype)
    local mime = lower(ctype)
    local s = find(mime, ";", 1, true)
    if s then
        mime = sub(mime, 1, s - 1)
    end
    return mime
end

-- A body already in memory, decoded by its content type (the service's
-- buffered answer): body table, err, mime.
function _M.decode(raw, ctype, max_args)
    if not ctype then
        return nil, ERR_NO_TYPE
    end
    local mime = mime_of(ctype)
    if find(mime, POST, 1, true) == 1 then
        local args, err = ngx.decode_args(raw, checks.limit("max_args", max_args))
        return args, err, POST
    end
    if find(mime, JSON, 1, true) == 1 then
        local t = cjson.decode(raw)
        if type(t) ~= "table" then
            return nil, ERR_JSON, JSON
        end
        return t, nil, JSON
    end
    if find(mime, MULTIPART, 1, true) == 1 then
        local t, merr = multipart(raw, ctype)
        return t, merr, MULTIPART
    end
    return nil, "unsupported content type '" .. ctype .. "'", mime
end

-- get_body(mimetype, max_args, max_allowed_file_size): body table, err, mime.
function _M.get_body(mimetype, max_args, max_file_size)
    check("kong.request.get_body", BEFORE_CONTENT)
    local ctype = mimetype or var.content_type
    if not ctype then
        return nil, ERR_NO_TYPE
    end
    local mime = mime_of(ctype)
    if find(mime, POST, 1, true) == 1 then
        max_args = checks.limit("max_args", max_args)
        req.read_body()
        local args, err = get_post_args(max_args)
        if not args then
            return nil, err, POST
        end
        return args, nil, POST
    end
    if find(mime, MULTIPART, 1, true) == 1 then
        checks.limit("max_allowed_file_size", max_file_size, nil, math.huge)
        local body, err = _M.read()
        if not body then
            return nil, err, MULTIPART
        end
        local t, merr = multipart(body, var.content_type or ctype, max_file_size)
        return t, merr, MULTIPART
    end
    if find(mime, JSON, 1, true) == 1 then
        local body, err = _M.read()
        if not body then
            return nil, err, JSON
        end
        return _M.decode(body, ctype)
    end
    return nil, "unsupported content type '" .. ctype .. "'", mime
end

return _M
