-- request-termination (Kong 3.9): answers every request (or those carrying
-- the trigger header or query argument) without calling the upstream.
local kong = require("kongpy.pdk")

local ngx = ngx
local worker_pid = ngx.worker.pid
local tonumber = tonumber

local request = kong.request

local DEFAULT_RESPONSE = {
    [401] = "Unauthorized",
    [404] = "Not found",
    [405] = "Method not allowed",
    [500] = "An unexpected error occurred",
    [502] = "Bad Gateway",
    [503] = "Service unavailable",
}

local RequestTerminationHandler = {
    PRIORITY = 2,
    VERSION = "3.9.1",
}

local function echo(conf, status, headers, query)
    return kong.response.exit(status, {
        message = conf.message or DEFAULT_RESPONSE[status],
        kong = {
            node_id = kong.node.get_id(),
            worker_pid = worker_pid(),
            hostname = kong.node.get_hostname(),
        },
        request = {
            scheme = request.get_scheme(),
            host = request.get_host(),
            port = tonumber(request.get_port()),
            headers = headers,
            query = query,
            body = (request.get_body()),
            raw_body = (request.get_raw_body()),
            method = request.get_method(),
            path = request.get_path(),
            uri_captures = request.get_uri_captures(),
        },
        matched_route = kong.router.get_route(),
        matched_service = kong.router.get_service(),
    })
end

function RequestTerminationHandler:access(conf)
    local status = conf.status_code
    local headers, query
    if conf.trigger or conf.echo then
        headers = request.get_headers()
        query = request.get_query()
        local trigger = conf.trigger
        if trigger and not headers[trigger] and not query[trigger] then
            return
        end
    end
    if conf.echo then
        return echo(conf, status, headers, query)
    end
    if conf.body then
        return kong.response.exit(status, conf.body, { ["Content-Type"] = conf.content_type })
    end
    local message = conf.message or DEFAULT_RESPONSE[status]
    return kong.response.exit(status, message and { message = message } or nil)
end

return RequestTerminationHandler
