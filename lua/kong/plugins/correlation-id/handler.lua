-- correlation-id (Kong 3.9): a request id passed upstream (the client's own
-- when it sent one) and, optionally, echoed to the client.
local kong = require("kongpy.pdk")

local ngx = ngx
local var = ngx.var
local now = ngx.now
local worker_pid = ngx.worker.pid

local type = type
local sub = string.sub
local format = string.format

local request = kong.request

local CTX_KEY = "kongpy_correlation_id"
-- the RFC 4122 variant nibble for a random (version 4) uuid
local VARIANT = { ["0"] = "8", ["1"] = "9", ["2"] = "a", ["3"] = "b", ["4"] = "8",
                  ["5"] = "9", ["6"] = "a", ["7"] = "b", ["8"] = "8", ["9"] = "9",
                  a = "a", b = "b", c = "8", d = "9", e = "a", f = "b" }

local CorrelationIdHandler = {
    PRIORITY = 100001,
    VERSION = "3.9.1",
}

-- A version 4 uuid from nginx's $request_id (16 bytes from the system's CSPRNG).
local function uuid()
    local hex = var.request_id
    return sub(hex, 1, 8) .. "-" .. sub(hex, 9, 12) .. "-4" .. sub(hex, 14, 16) .. "-"
           .. VARIANT[sub(hex, 17, 17)] .. sub(hex, 18, 20) .. "-" .. sub(hex, 21, 32)
end

-- set in the worker on first use, so each worker has its own prefix
local worker_uuid
local counter = 0

local generators = {
    ["uuid"] = uuid,
    ["uuid#counter"] = function()
        if not worker_uuid then
            worker_uuid = uuid()
        end
        counter = counter + 1
        return worker_uuid .. "#" .. counter
    end,
    ["tracker"] = function()
        return format("%s-%s-%d-%s-%s-%0.3f", var.server_addr, var.server_port, worker_pid(),
                      var.connection, var.connection_requests, now())
    end,
}

-- the client's id, when it sent a non-empty one
local function incoming(conf)
    local id = request.get_header(conf.header_name)
    if type(id) == "table" then
        id = id[1]
    end
    if id ~= "" then
        return id
    end
end

function CorrelationIdHandler:access(conf)
    local id = incoming(conf)
    if not id then
        id = generators[conf.generator]()
        kong.service.request.set_header(conf.header_name, id)
    end
    -- as Kong, the id is a field of the log serializer's record
    kong.log.set_serialize_value("correlation_id", id)
    if conf.echo_downstream then
        kong.ctx.shared[CTX_KEY] = id
    end
end

function CorrelationIdHandler:header_filter(conf)
    if not conf.echo_downstream then
        return
    end
    -- an answer given before this access ran (a plugin of a higher
    -- priority ended the request) still carries an id, as in Kong: the
    -- client's, else a new one
    local id = kong.ctx.shared[CTX_KEY] or incoming(conf) or generators[conf.generator]()
    kong.response.set_header(conf.header_name, id)
end

return CorrelationIdHandler
