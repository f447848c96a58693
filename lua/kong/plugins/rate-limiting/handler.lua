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
local header = ngx.header
local max = math.max
local floor = math.floor
local tostring = tostring
local ipairs = ipairs
local type = type
local setmetatable = setmetatable

local PERIODS = ratelimit.PERIODS
local EXPIRATION = ratelimit.EXPIRATION
local NULL_UUID = ratelimit.NULL_UUID

local ERR_UNEXPECTED = "An unexpected error occurred"
local NS = "ratelimit"
local RL_LIMIT, RL_REMAINING, RL_RESET = "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"
-- identifiers whose counter keys a configuration keeps for the current second
local MAX_CACHED_IDS = 1000

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
        -- kong.client.get_consumer() / get_credential() without their phase
        -- checks: this is the access phase
        local ctx = ngx.ctx
        local c = ctx.authenticated_consumer or ctx.authenticated_credential
        id = c and c.id
    elseif by == "credential" then
        local c = ngx.ctx.authenticated_credential
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

-- What a configuration always needs, worked out on its first request: its
-- windows in Kong's order (limit, expiry, header names) and the start of its
-- counter keys. The compiled configuration is a new table whenever the
-- instance changes, so the plan is never stale.
local plans = setmetatable({}, { __mode = "k" })

local function plan_of(conf)
    local plan = plans[conf]
    if plan then
        return plan
    end
    -- Kong keys counters by the instance's scope, not the request's
    local route_id = conf.route_id or NULL_UUID
    local service_id = conf.service_id or NULL_UUID
    local windows = {}
    for _, p in ipairs(PERIODS) do
        local limit = conf[p]
        if limit then
            -- the limit also as the header value nginx would make of it
            windows[#windows + 1] = { period = p, limit = limit, ttl = EXPIRATION[p],
                                      limit_s = tostring(limit), x_limit = X_LIMIT[p],
                                      x_remaining = X_REMAINING[p] }
        end
    end
    plan = { windows = windows, n = #windows, route_id = route_id, service_id = service_id,
             prefix = ratelimit.key_prefix(NS, route_id, service_id),
             second = nil, by_id = nil, cached = 0 }
    plans[conf] = plan
    return plan
end

-- The counters of identifier `id` in the current windows. They change once
-- a second at most, so they are kept for the second (a bounded number of
-- identifiers per second: with many clients a key is built per request).
local function entries_for(plan, id, now)
    local second = floor(now)
    local by_id = plan.by_id
    if plan.second ~= second then
        by_id = {}
        plan.by_id, plan.second, plan.cached = by_id, second, 0
    else
        local entries = by_id[id]
        if entries then
            return entries
        end
    end
    local starts = ratelimit.timestamps(now)
    local suffixes = ratelimit.suffixes(now)
    local prefix = plan.prefix .. id
    local entries = {}
    for i = 1, plan.n do
        local w = plan.windows[i]
        local p = w.period
        entries[i] = {
            key = prefix .. suffixes[p], limit = w.limit, ttl = w.ttl, period = p,
            period_date = starts[p], identifier = id, route_id = plan.route_id,
            service_id = plan.service_id, window = w,
        }
    end
    if plan.cached < MAX_CACHED_IDS then
        by_id[id] = entries
        plan.cached = plan.cached + 1
    end
    return entries
end

-- Kong's header rules: every window's limit and remaining, then the most
-- restrictive window (lowest remaining, then the longest) as RateLimit-*.
-- `out` is a table for the refusal, or nil to set the response headers.
local function headers_for(entries, counts, stop, now, out)
    local limit, remaining, chosen
    for i = 1, #entries do
        local e = entries[i]
        local left = e.limit - counts[i]
        if stop == nil or stop == i then
            left = left - 1
        end
        if left < 0 then
            left = 0
        end
        local ttl = e.ttl
        if not limit or left < remaining or (left == remaining and ttl > chosen.ttl) then
            limit, remaining, chosen = e.limit, left, e
        end
        local w = e.window
        if out then
            out[w.x_limit] = e.limit
            out[w.x_remaining] = left
        else
            header[w.x_limit] = w.limit_s
            header[w.x_remaining] = left
        end
    end
    if not chosen then
        return nil
    end
    local reset = max(1, chosen.ttl - floor(now - chosen.period_date))
    if out then
        out[RL_LIMIT] = limit
        out[RL_REMAINING] = remaining
        out[RL_RESET] = reset
    else
        header[RL_LIMIT] = chosen.window.limit_s
        header[RL_REMAINING] = remaining
        header[RL_RESET] = reset
    end
    return reset
end

function RateLimitingHandler:access(conf)
    local plan = plan_of(conf)
    local now = ngx.now()
    local entries = entries_for(plan, identifier(conf), now)
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
    if stop then
        -- Kong: no Retry-After either when the client headers are hidden
        local headers = {}
        if not conf.hide_client_headers then
            headers["Retry-After"] = headers_for(entries, counts, stop, now, headers)
        end
        return kong.response.error(conf.error_code, conf.error_message, headers)
    end
    if not conf.hide_client_headers then
        headers_for(entries, counts, nil, now, nil)
    end
end

return RateLimitingHandler
