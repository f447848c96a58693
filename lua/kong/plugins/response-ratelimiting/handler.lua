-- response-ratelimiting (Kong 3.9): the upstream reports what a response
-- cost in a header (`X-Kong-Limit: videos=2, images=1`); the counts are read
-- before proxying and incremented after the response, in a timer.
local kong = require("kongpy.pdk")
local ratelimit = require("kongpy.tools.ratelimit")

local ngx = ngx
local timer_at = ngx.timer.at
local max = math.max
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local gmatch = string.gmatch
local floor = math.floor
local next = next
local type = type
local concat = table.concat

local PERIODS = ratelimit.PERIODS
local EXPIRATION = ratelimit.EXPIRATION
local NULL_UUID = ratelimit.NULL_UUID
local NS = "response-ratelimit"
local CTX = "response-ratelimiting"
local ERR_UNEXPECTED = "An unexpected error occurred"
local ERR_EXCEEDED = "API rate limit exceeded for '"
local UPSTREAM_REMAINING = "X-RateLimit-Remaining-"

local ResponseRateLimitingHandler = {
    PRIORITY = 900,
    VERSION = "3.9.1",
}

local function identifier(conf)
    local c
    if conf.limit_by == "consumer" then
        c = kong.client.get_consumer() or kong.client.get_credential()
    elseif conf.limit_by == "credential" then
        c = kong.client.get_credential()
    end
    return c and c.id or kong.client.get_forwarded_ip()
end

-- One counter per (limit name, period), period stored as "<name>_<period>".
local function entries_for(conf, id, now)
    -- Kong keys counters by the instance's scope, not the request's
    local route_id = conf.route_id or NULL_UUID
    local service_id = conf.service_id or NULL_UUID
    local starts = ratelimit.timestamps(now)
    local entries = {}
    for name, periods in pairs(conf.limits) do
        for _, p in ipairs(PERIODS) do
            local limit = periods[p]
            if limit then
                local stored = name .. "_" .. p
                entries[#entries + 1] = {
                    key = ratelimit.key(NS, route_id, service_id, id, starts[p], stored),
                    limit = limit, ttl = EXPIRATION[p], period = stored,
                    period_date = starts[p], identifier = id, route_id = route_id,
                    service_id = service_id, name = name, window = p,
                }
            end
        end
    end
    return entries
end

function ResponseRateLimitingHandler:access(conf)
    if not next(conf.limits) then
        return
    end
    local entries = entries_for(conf, identifier(conf), ngx.now())
    local policy, err = ratelimit.policy(conf.policy)
    local counts
    if policy then
        counts, err = policy.usage(NS, conf, entries)
    end
    if not counts then
        kong.log.err("[response-ratelimiting] failed to get usage: ", tostring(err))
        if not conf.fault_tolerant then
            return kong.response.error(500, ERR_UNEXPECTED)
        end
        return
    end
    -- the upstream is told what is left of each limit: the least of its
    -- windows (entries_for keeps a name's windows together)
    local set_header = kong.service.request.set_header
    local name, least
    for i, e in ipairs(entries) do
        e.remaining = e.limit - counts[i]
        -- Kong refuses here only at exactly 0 left: a limit overshot by a
        -- larger increment is refused in header_filter instead, when the
        -- upstream reports more usage of it (a Kong quirk kept on purpose)
        if conf.block_on_first_violation and e.remaining == 0 then
            return kong.response.error(429, ERR_EXCEEDED .. e.name .. "'")
        end
        if e.name ~= name then
            if name then
                set_header(UPSTREAM_REMAINING .. name, least)
            end
            name, least = e.name, e.remaining
        elseif e.remaining < least then
            least = e.remaining
        end
    end
    if name then
        set_header(UPSTREAM_REMAINING .. name, least)
    end
    kong.ctx.shared[CTX] = { entries = entries }
end

-- "videos=2, images=1" -> { videos = 2, images = 1 } for the configured names.
local function parse(value, limits)
    local out = {}
    for name, n in gmatch(value, "%s*([^,=%s]+)%s*=%s*([^,%s]+)") do
        n = tonumber(n)
        if limits[name] and n then
            out[name] = floor(n)
        end
    end
    return out
end

function ResponseRateLimitingHandler:header_filter(conf)
    local state = kong.ctx.shared[CTX]
    if not state then
        return
    end
    local value = kong.response.get_header(conf.header_name)
    kong.response.clear_header(conf.header_name)
    if type(value) == "table" then
        value = concat(value, ",")
    end
    local increments = value and parse(value, conf.limits) or {}
    local stop = false
    for _, e in ipairs(state.entries) do
        local inc = increments[e.name]
        if not conf.hide_client_headers then
            local suffix = "-" .. e.name .. "-" .. e.window
            kong.response.set_header("X-RateLimit-Limit" .. suffix, e.limit)
            kong.response.set_header("X-RateLimit-Remaining" .. suffix,
                                     max(0, e.remaining - (inc or 0)))
        end
        if inc and inc > 0 and e.remaining <= 0 then
            stop = true
        end
    end
    state.increments = not stop and increments or nil
    if stop then
        -- The upstream already answered: Kong swaps its response for a bodiless
        -- 429, and counts none of its reported usage (its `stop_log`)
        state.blocked = true
        ngx.status = 429
        kong.response.set_header("Content-Length", 0)
        kong.response.clear_header("Content-Type")
    end
end

function ResponseRateLimitingHandler:body_filter(_)
    local state = kong.ctx.shared[CTX]
    if state and state.blocked then
        ngx.arg[1] = ""
    end
end

local function increment(premature, conf, entries, increments)
    if premature then
        return
    end
    local policy = ratelimit.policy(conf.policy)
    local by_name = {}
    for _, e in ipairs(entries) do
        -- Kong adds any reported usage but 0: a negative one gives usage back
        local inc = increments[e.name]
        if inc and inc ~= 0 then
            by_name[e.name] = by_name[e.name] or {}
            by_name[e.name][#by_name[e.name] + 1] = e
        end
    end
    for name, list in pairs(by_name) do
        local ok, err = policy.increment(NS, conf, list, increments[name])
        if not ok then
            kong.log.err("[response-ratelimiting] failed to increment: ", tostring(err))
        end
    end
end

function ResponseRateLimitingHandler:log(conf)
    local state = kong.ctx.shared[CTX]
    if state and state.increments and next(state.increments) then
        local ok, err = timer_at(0, increment, conf, state.entries, state.increments)
        if not ok then
            kong.log.err("[response-ratelimiting] cannot start a timer: ", err)
        end
    end
end

return ResponseRateLimitingHandler
