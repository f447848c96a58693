-- rate-limiting (Kong 3.9): fixed UTC calendar windows per consumer,
-- credential, IP, service, header or path, counted by the `local`, `cluster`
-- or `redis` policy (kongpy.tools.ratelimit).
--
-- Kong reads the counters here and increments them later in a timer, so
-- concurrent requests (and N nodes) can pass the limit. We check and count in
-- one step instead: exact for `redis` across nodes and for `local` in a node.
local kong = require("kongpy.pdk")
local ratelimit = require("kongpy.tools.ratelimit")

local ngx = ngx
local max = math.max
local tostring = tostring
local ipairs = ipairs
local pairs = pairs
local type = type

local PERIODS = ratelimit.PERIODS
local EXPIRATION = ratelimit.EXPIRATION
local NULL_UUID = ratelimit.NULL_UUID

local ERR_UNEXPECTED = "An unexpected error occurred"
local NS = "ratelimit"

local X_LIMIT, X_REMAINING = {}, {}
for _, p in ipairs(PERIODS) do
    local cap = p:sub(1, 1):upper() .. p:sub(2)
    X_LIMIT[p] = "X-RateLimit-Limit-" .. cap
    X_REMAINING[p] = "X-RateLimit-Remaining-" .. cap
end

local RateLimitingHandler = {
    PRIORITY = 910,
    VERSION = "3.9.1",
}

-- Kong's get_identifier: anything missing falls back to the client IP.
local function identifier(conf)
    local by = conf.limit_by
    local id
    if by == "consumer" then
        local c = kong.client.get_consumer() or kong.client.get_credential()
        id = c and c.id
    elseif by == "credential" then
        local c = kong.client.get_credential()
        id = c and c.id
    elseif by == "service" then
        local s = kong.router.get_service()
        id = s and s.id
    elseif by == "header" then
        id = kong.request.get_header(conf.header_name)
        if type(id) == "table" then
            id = id[1]
        end
    elseif by == "path" then
        local path = kong.request.get_path()
        if path == conf.path then
            id = path
        end
    end
    return id or kong.client.get_forwarded_ip()
end

local function entries_for(conf, id, now)
    -- Kong keys counters by the instance's scope, not the request's
    local route_id = conf.route_id or NULL_UUID
    local service_id = conf.service_id or NULL_UUID
    local starts = ratelimit.timestamps(now)
    local entries = {}
    for _, p in ipairs(PERIODS) do
        local limit = conf[p]
        if limit then
            local start = starts[p]
            entries[#entries + 1] = {
                key = ratelimit.key(NS, route_id, service_id, id, start, p),
                limit = limit, ttl = EXPIRATION[p], period = p, period_date = start,
                identifier = id, route_id = route_id, service_id = service_id,
            }
        end
    end
    return entries
end

-- Kong's header rules: every window's limit and remaining, then the most
-- restrictive window (lowest remaining, then the longest) as RateLimit-*.
local function headers_for(entries, counts, stop, now)
    local headers = {}
    local limit, remaining, window, reset
    for i, e in ipairs(entries) do
        local left = e.limit - counts[i]
        if stop == nil or stop == i then
            left = left - 1
        end
        left = max(0, left)
        local w = EXPIRATION[e.period]
        if not limit or left < remaining or (left == remaining and w > window) then
            limit, remaining, window = e.limit, left, w
            reset = ratelimit.reset(e.period, e.period_date, now)
        end
        headers[X_LIMIT[e.period]] = e.limit
        headers[X_REMAINING[e.period]] = left
    end
    headers["RateLimit-Limit"] = limit
    headers["RateLimit-Remaining"] = remaining
    headers["RateLimit-Reset"] = reset
    return headers, reset
end

function RateLimitingHandler:access(conf)
    local now = ngx.now()
    local id = identifier(conf)
    local entries = entries_for(conf, id, now)
    local policy, err = ratelimit.policy(conf.policy)
    local counts, stop
    if policy then
        counts, stop, err = policy.consume(NS, conf, entries, 1)
    end
    if not counts then
        kong.log.err("[rate-limiting] failed to get usage: ", tostring(err))
        if not conf.fault_tolerant then
            return kong.response.error(500, ERR_UNEXPECTED)
        end
        return
    end
    local headers, reset
    if not conf.hide_client_headers then
        headers, reset = headers_for(entries, counts, stop, now)
    end
    if stop then
        headers = headers or {}
        headers["Retry-After"] = reset
        return kong.response.error(conf.error_code, conf.error_message, headers)
    end
    if headers then
        for k, v in pairs(headers) do
            kong.response.set_header(k, v)
        end
    end
end

return RateLimitingHandler
