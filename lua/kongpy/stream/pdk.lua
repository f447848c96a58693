-- The PDK as plugins see it in the stream subsystem (the preread phase):
-- the client's address, the matched route and service, per-connection
-- context, logging and kong.response.exit/error, which answer the client
-- with the body (when there is one) and end the connection with the status.
local cjson = require("cjson.safe")
local cidr = require("kongpy.tools.cidr")

local type = type
local tostring = tostring
local tonumber = tonumber
local select = select
local ipairs = ipairs
local error = error
local setmetatable = setmetatable
local concat = table.concat

local C          -- the functions the nginx module gives (kongpy.stream)
local current    -- the connection plugins run for: {conn, route, service, ...}
local trusted    -- trusted_ips, compiled

local ERR_STATUS = "code must be a number between 100 and 599"
local ERR_PHASE = "not available in the stream subsystem"

local _M = { configuration = {} }

function _M.bind(api, configuration, trusted_ips)
    C = api
    _M.configuration = configuration or {}
    local list = {}
    for _, net in ipairs(trusted_ips or {}) do
        if net ~= "unix:" then
            list[#list + 1] = net
        end
    end
    trusted = list[1] and cidr.compile(list) or nil
end

function _M.set_current(conn)
    current = conn
end

local function line(...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do
        parts[i] = tostring((select(i, ...)))
    end
    return concat(parts)
end

local function logger(level_name)
    return function(...)
        C.log(C[level_name], line(...))
    end
end

_M.log = {
    err = logger("ERR"), warn = logger("WARN"), notice = logger("NOTICE"),
    info = logger("INFO"), debug = logger("DEBUG"), alert = logger("ALERT"),
    crit = logger("CRIT"), emerg = logger("EMERG"),
}

_M.client = {
    get_ip = function() return current.conn.src_ip end,
    get_forwarded_ip = function() return current.conn.src_ip end,
    get_port = function() return current.conn.src_port end,
    get_forwarded_port = function() return current.conn.src_port end,
    get_protocol = function() return current.conn.protocol end,
    get_consumer = function() return nil end,
    get_credential = function() return nil end,
    authenticate = function() error("kong.client.authenticate: " .. ERR_PHASE, 2) end,
}

_M.router = {
    get_route = function() return current.route end,
    get_service = function() return current.service end,
}

_M.ctx = setmetatable({}, {
    __index = function(_, key)
        if key == "shared" then
            return current.shared
        elseif key == "plugin" then
            return current.plugin_ctx
        end
    end,
})

_M.request = setmetatable({}, {
    __index = function(_, key)
        return function() error("kong.request." .. key .. ": " .. ERR_PHASE, 2) end
    end,
})

-- Ends the connection: the body (a string, or a table as JSON) first.
function _M.response_exit(status, body)
    status = tonumber(status)
    if not status or status < 100 or status > 599 then
        error(ERR_STATUS, 2)
    end
    if type(body) == "table" then
        body = cjson.encode(body)
    end
    if type(body) == "string" and body ~= "" then
        C.say(body)
    end
    current.exit_status = status
    return status
end

_M.response = {
    exit = function(status, body) return _M.response_exit(status, body) end,
    error = function(status, message)
        return _M.response_exit(status, { message = message or "An unexpected error occurred" })
    end,
}

_M.node = {
    get_id = function() return _M.configuration.node_id end,
}

_M.ip = {
    is_trusted = function(addr)
        return trusted ~= nil and addr ~= nil and cidr.contains(trusted, addr) or false
    end,
}

return _M
