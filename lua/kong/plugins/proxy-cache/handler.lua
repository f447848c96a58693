-- proxy-cache (Kong 3.9): caches the upstream's answers in a shared
-- dictionary of the node (storage.lua) and serves them in the access phase.
-- Kong's cache key (cache_key.lua), cacheability rules, Cache-Control
-- handling (`cache_control`) and X-Cache-Status (Miss, Hit, Refresh,
-- Bypass), X-Cache-Key and Age headers (`response_headers`, or any request
-- carrying Kong-Debug). Beyond Kong: one request per key fills a missing or
-- stale entry while the others wait for it (storage.lua).
local kong = require("kongpy.pdk")
local meta = require("kong.meta")
local storage = require("kong.plugins.proxy-cache.storage")
local cache_key = require("kong.plugins.proxy-cache.cache_key")
local directives = require("kong.plugins.proxy-cache.directives")

local ngx = ngx
local var = ngx.var
local time = ngx.time
local floor = math.floor
local concat = table.concat
local lower = string.lower
local pairs = pairs

local ProxyCacheHandler = {
    PRIORITY = 100,
    VERSION = meta.version,
}

local CHANNEL = "proxy-cache:purge"

local function show(conf, name)
    return conf.response_headers[name] or var.http_kong_debug
end

local function set_header(conf, name, value)
    if show(conf, name) then
        kong.response.set_header(name, value)
    end
end

local function listed(list, value)
    for i = 1, #list do
        if list[i] == value then
            return true
        end
    end
    return false
end

local function cacheable_request(conf, cc, method)
    if not listed(conf.request_method, method) then
        return false
    end
    if conf.cache_control and (cc["no-store"] or cc["no-cache"] or var.http_authorization) then
        return false
    end
    return true
end

-- Note the key to store the answer under, and hold its lock when taken.
-- The request's state is ngx.ctx.proxy_cache (as Kong 2.x kept it; one
-- instance of a plugin applies to a request): a hit then costs the later
-- phases one ngx.ctx read each, where kong.ctx.plugin would build tables.
local function signal_miss(conf, dict, key, status, locked)
    ngx.ctx.proxy_cache = { key = key, dict = dict, locked = locked,
                            req_body = kong.request.get_raw_body() }
    set_header(conf, "X-Cache-Key", key)
    set_header(conf, "X-Cache-Status", status or "Miss")
end

local function stale(conf, cc, res)
    local age = time() - res.timestamp
    if conf.cache_control then
        return (cc["max-age"] and age > cc["max-age"])
            or (cc["max-stale"] and age - res.ttl > cc["max-stale"])
            or (cc["min-fresh"] and res.ttl - age < cc["min-fresh"])
    end
    -- an entry may be kept for `storage_ttl`: never serve it past cache_ttl
    return age > conf.cache_ttl
end

-- The headers of a hit: the stored ones but the three the plugin answers
-- itself (absent unless shown, even when stored), checked once per decoded
-- entry (storage.lua keeps it per worker) and written without a loop.
local OWN = { age = true, ["x-cache-status"] = true, ["x-cache-key"] = true }

local function hit_headers(res)
    local prepared = res.hit_headers
    if not prepared then
        local headers = {}
        for k, v in pairs(res.headers) do
            if not OWN[lower(k)] then
                headers[k] = v
            end
        end
        prepared = kong.response.prepare_headers(headers)
        res.hit_headers = prepared
    end
    return prepared
end

local function serve(conf, key, res)
    kong.ctx.shared.proxy_cache_hit = { res = res, req = { body = res.req_body },
                                        server_addr = var.server_addr }
    -- as Kong: the service's answer, served again (proxied headers)
    ngx.ctx.KONG_PROXIED = true
    local prepared = hit_headers(res)
    local set = kong.response.set_header
    if show(conf, "Age") then
        set("Age", floor(time() - res.timestamp))
    end
    if show(conf, "X-Cache-Status") then
        set("X-Cache-Status", "Hit")
    end
    if show(conf, "X-Cache-Key") then
        set("X-Cache-Key", key)
    end
    return kong.response.exit_prepared(res.status, res.body, prepared)
end


function ProxyCacheHandler:init_worker()
    -- other nodes' purges (Kong's channel and "<plugin id>:<key or nil>")
    kong.cluster_events:subscribe(CHANNEL, function(data)
        require("kong.plugins.proxy-cache.purge").apply(data)
    end)
end

function ProxyCacheHandler:access(conf)
    -- the request's directives only count with cache_control
    local cc = conf.cache_control and directives.parse(var.http_cache_control)
               or directives.NONE
    local method = kong.request.get_method()
    if not cacheable_request(conf, cc, method) then
        set_header(conf, "X-Cache-Status", "Bypass")
        return
    end
    -- X-Cache-Key: with the hit's headers, or when a miss is signalled
    local key = cache_key.for_request(conf, method)

    local dict, derr = storage.dict_of(conf.memory.dictionary_name)
    if not dict then
        set_header(conf, "X-Cache-Key", key)
        kong.log.err(derr)
        return
    end
    local res, err = storage.fetch(dict, key)
    local status
    if res and res.version ~= storage.CACHE_VERSION then
        kong.log.notice("cache format mismatch, purging ", key)
        storage.purge(dict, key)
        return signal_miss(conf, dict, key, "Bypass", false)
    elseif res then
        if not stale(conf, cc, res) then
            return serve(conf, key, res)
        end
        status = "Refresh"
    elseif err ~= storage.ERR_NOT_FOUND then
        set_header(conf, "X-Cache-Key", key)
        kong.log.err(err)
        return
    elseif conf.cache_control and cc["only-if-cached"] then
        set_header(conf, "X-Cache-Key", key)
        return kong.response.exit(504)
    end

    if not storage.lock(dict, key) then
        -- another request fills the key: take its answer when it is fresh
        if storage.wait(dict, key) then
            res = storage.fetch(dict, key)
            if res and res.version == storage.CACHE_VERSION and not stale(conf, cc, res) then
                return serve(conf, key, res)
            end
        end
        return signal_miss(conf, dict, key, status, false)
    end
    return signal_miss(conf, dict, key, status, true)
end

function ProxyCacheHandler:header_filter(conf)
    local pc = ngx.ctx.proxy_cache
    if not pc then
        return
    end
    local cc = directives.parse(var.sent_http_cache_control)
    local ttl = directives.cacheable_response(conf, cc)
    if ttl then
        pc.headers = directives.stored_headers()
        pc.ttl = ttl
        pc.chunks = {}
    else
        set_header(conf, "X-Cache-Status", "Bypass")
        pc.headers = nil
    end
end

function ProxyCacheHandler:body_filter(conf)
    local pc = ngx.ctx.proxy_cache
    if not (pc and pc.chunks) then
        return
    end
    local chunks = pc.chunks
    local chunk = ngx.arg[1]
    if chunk and chunk ~= "" then
        chunks[#chunks + 1] = chunk
    end
    if not ngx.arg[2] then
        return
    end
    pc.chunks = nil
    local body = concat(chunks)
    local ttl = conf.storage_ttl or (conf.cache_control and pc.ttl) or conf.cache_ttl
    local ok, err = storage.store(pc.dict, pc.key, {
        status = kong.response.get_status(), headers = pc.headers, body = body,
        body_len = #body, timestamp = time(), ttl = pc.ttl,
        version = storage.CACHE_VERSION, req_body = pc.req_body,
    }, ttl)
    if not ok then
        kong.log.err(err)
    end
    if pc.locked then
        pc.locked = false
        storage.unlock(pc.dict, pc.key)
    end
end

-- a request that held the lock and stored nothing (not cacheable, an
-- error) releases it here
function ProxyCacheHandler:log()
    local pc = ngx.ctx.proxy_cache
    if pc and pc.locked then
        pc.locked = false
        storage.unlock(pc.dict, pc.key)
    end
end

return ProxyCacheHandler
