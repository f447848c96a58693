-- Zipkin v2 JSON of the zipkin plugin's spans (zipkin2-api.yaml), queued per
-- worker (kong.tools.queue) and posted as one JSON array per batch.
local cjson = require("cjson.safe").new()
local Queue = require("kong.tools.queue")
local http_client = require("kongpy.tools.http_client")
local to_hex = require("kongpy.tools.string").to_hex

local null = ngx.null

local next = next
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local find = string.find
local format = string.format
local gsub = string.gsub
local concat = table.concat

local _M = {}

local HEADERS = { ["Content-Type"] = "application/json" }

-- Microsecond times have 16 digits, more than this cjson prints exactly: they
-- are encoded as strings, then unquoted (a string value's own quotes are
-- escaped, so the pattern cannot match inside one).
local function micros(n)
    return format("%d", n)
end

local function unquote_times(json)
    json = gsub(json, '"timestamp":"(%d+)"', '"timestamp":%1')
    return (gsub(json, '"duration":"(%d+)"', '"duration":%1'))
end

local function send(conf, entries)
    local status, body = http_client.request(conf.http_endpoint, {
        method = "POST", headers = HEADERS, body = "[" .. concat(entries, ",") .. "]",
        connect_timeout = conf.connect_timeout, send_timeout = conf.send_timeout,
        read_timeout = conf.read_timeout,
    })
    -- failures are reported by the queue, at a bounded rate
    if not status then
        return nil, body
    end
    if status < 200 or status >= 300 then
        return nil, "failed: " .. status .. " " .. tostring(body)
    end
    return true
end

local function endpoint(span, default_service_name)
    local service_name = span.service_name or default_service_name
    if not span.port and not service_name then
        return null
    end
    local e = { serviceName = service_name, port = span.port }
    local ip = span.ip
    if ip then
        if find(ip, ":", 1, true) then
            e.ipv6 = ip
        else
            e.ipv4 = ip
        end
    end
    return e
end

-- report(conf, span): queues a sampled span
function _M.report(conf, span)
    if not span.should_sample or not conf.http_endpoint then
        return true
    end
    local tags
    if span.tags then
        tags = {}
        for k, v in pairs(span.tags) do
            tags[k] = tostring(v)
        end
        if not next(tags) then
            tags = nil
        end
    end
    local annotations = span.annotations
    if annotations then
        for _, a in ipairs(annotations) do
            a.timestamp = micros(a.timestamp)
        end
    end
    local json = unquote_times(cjson.encode({
        traceId = to_hex(span.trace_id),
        name = span.name,
        parentId = span.parent_id and to_hex(span.parent_id) or nil,
        id = to_hex(span.span_id),
        kind = span.kind,
        timestamp = micros(span.timestamp),
        duration = micros(span.duration),
        localEndpoint = { serviceName = conf.local_service_name },
        remoteEndpoint = endpoint(span, conf.default_service_name),
        tags = tags,
        annotations = annotations,
    }))
    local queue_conf = Queue.get_plugin_params("zipkin", conf)
    return Queue.enqueue(queue_conf, send, conf, json)
end

return _M
