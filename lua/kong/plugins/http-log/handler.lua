-- http-log (Kong 3.9): the log object goes to a per-worker kong.tools.queue;
-- the queue's timer encodes each batch at once and POSTs (PUTs, PATCHes)
-- it to `http_endpoint` through kongpy.tools.http_client: one JSON object
-- when batches hold one entry, else a JSON array. With queue.max_bytes the
-- queue counts bytes, so the entry is encoded in the log phase, as Kong
-- does. A status below 300 is success; anything else is retried by the
-- queue. Instances with the same endpoint,
-- method, content type, timeout and keepalive share a queue, as in Kong.
local Queue = require("kong.tools.queue")
local http_client = require("kongpy.tools.http_client")
local log_entry = require("kongpy.tools.log_entry")

local ngx = ngx
local encode_base64 = ngx.encode_base64
local md5 = ngx.md5

local pairs = pairs
local tostring = tostring
local fmt = string.format
local gsub = string.gsub

local HttpLogHandler = {
    PRIORITY = 12,
    VERSION = require("kong.meta").version,
}

local parsed_urls = {}

local function parse(endpoint)
    local u = parsed_urls[endpoint]
    if u == nil then
        local err
        u, err = http_client.parse_url(endpoint)
        if not u then
            return nil, err
        end
        parsed_urls[endpoint] = u
    end
    return u
end

-- The batch size the queue works with: queue.max_batch_size, or the
-- deprecated queue_size when set to something else than its old default
-- (kong.tools.queue's get_plugin_params).
local function batch_size(conf)
    local legacy = conf.queue_size
    if legacy ~= nil and legacy ~= 1 then
        return legacy
    end
    return conf.queue and conf.queue.max_batch_size or 1
end

local function encode_failed(err)
    kong.log.err("could not encode the log entry: ", err)
end

local function send_entries(conf, entries)
    local payload = log_entry.encode_batch(entries, batch_size(conf) == 1, encode_failed)
    if not payload then
        -- nothing left to send; retrying would not make it encodable
        return true
    end
    local u, err = parse(conf.http_endpoint)
    if not u then
        return nil, err
    end
    local headers = {
        ["Content-Type"] = conf.content_type,
        ["Authorization"] = u.userinfo and "Basic " .. encode_base64(u.userinfo) or nil,
    }
    if conf.headers then
        for name, value in pairs(conf.headers) do
            headers[name] = headers[name] or value
        end
    end
    local status, body = http_client.request(u, {
        method = conf.method,
        headers = headers,
        body = payload,
        timeout = conf.timeout,
        keepalive = conf.keepalive,
    })
    local where = u.host .. ":" .. tostring(u.port)
    if not status then
        return nil, "failed request to " .. where .. ": " .. tostring(body)
    end
    if status < 300 then
        return true
    end
    return nil, "request to " .. where .. " returned status code " .. tostring(status)
                .. " and body " .. tostring(body)
end

-- Kong's queue name (its format string takes the first six of its eight
-- arguments). Beyond Kong: the endpoint's user info is replaced by its MD5,
-- so the queue's error log lines never show the credentials while
-- instances with other credentials still get queues of their own.
local function queue_name(conf)
    local endpoint = gsub(conf.http_endpoint, "^([^:/?#]+://)([^/?#@]*)@", function(s, info)
        return s .. md5(info) .. "@"
    end)
    return fmt("%s:%s:%s:%s:%s:%s", endpoint, conf.method, conf.content_type,
               tostring(conf.timeout), tostring(conf.keepalive), tostring(conf.retry_count))
end

function HttpLogHandler:log(conf)
    local queue_conf = conf.__http_log_queue
    if not queue_conf then
        queue_conf = Queue.get_plugin_params("http-log", conf, queue_name(conf))
        -- kept with the compiled configuration, rebuilt with its version
        conf.__http_log_queue = queue_conf
    end
    local entry, err
    if queue_conf.max_bytes and queue_conf.max_bytes ~= ngx.null then
        entry, err = log_entry.json(conf)
        if not entry then
            kong.log.err("could not encode the log entry: ", err)
            return
        end
    else
        entry = log_entry.table(conf)
    end
    local ok
    ok, err = Queue.enqueue(queue_conf, send_entries, conf, entry)
    if not ok then
        kong.log.err("Failed to enqueue log entry to log server: ", err)
    end
end

return HttpLogHandler
