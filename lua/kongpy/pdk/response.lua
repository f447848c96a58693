-- kong.response: short-circuit a request with Kong's bodies and headers.
local cjson = require("cjson.safe")
local errors = require("kongpy.errors")

local ngx = ngx
local var = ngx.var
local header = ngx.header
local print = ngx.print
local exit = ngx.exit

local type = type
local pairs = pairs

local JSON = "application/json; charset=utf-8"

local _M = {}

local function set_headers(headers)
    if headers then
        for k, v in pairs(headers) do
            header[k] = v
        end
    end
end

-- exit(status, body, headers): a table body is sent as JSON, a string as is.
function _M.exit(status, body, headers)
    ngx.status = status
    set_headers(headers)
    if body == nil then
        return exit(status)
    end
    if type(body) == "table" then
        body = cjson.encode(body)
        if not (headers and headers["Content-Type"]) then
            header["Content-Type"] = JSON
        end
    end
    header["Content-Length"] = #body
    print(body)
    return exit(status)
end

-- error(status, message, headers): Kong's negotiated {"message": ...} body.
function _M.error(status, message, headers)
    return errors.exit(status, message, var.request_id, headers)
end

function _M.set_header(name, value)
    header[name] = value
end

-- add_header(name, value): one more value after those already set.
function _M.add_header(name, value)
    local cur = header[name]
    if cur == nil then
        header[name] = value
        return
    end
    if type(cur) ~= "table" then
        cur = { cur }
    end
    cur[#cur + 1] = value
    header[name] = cur
end

function _M.clear_header(name)
    header[name] = nil
end

function _M.get_header(name)
    return header[name]
end

function _M.get_status()
    return ngx.status
end

return _M
