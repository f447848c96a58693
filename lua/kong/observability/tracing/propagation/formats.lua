-- The tracing header formats of Kong 3.9's propagation (kong-reference
-- §13.6): for each, extract(headers) → a context or nil, and inject(ctx,
-- set_header). A context holds binary ids: trace_id (16 bytes, or 8 for
-- 64-bit formats), span_id, parent_id (8 bytes), should_sample (boolean or
-- nil), flags and, for b3, single_header. inject returns the trace id as
-- that format writes it (Kong logs them as `trace_id` in the serialized log).
local ids = require("kong.observability.tracing.propagation.ids")
local to_hex = require("kongpy.tools.string").to_hex

local tonumber = tonumber
local format = string.format
local lower = string.lower
local match = string.match
local sub = string.sub

local hex_id, pad, to_dec, from_dec = ids.hex_id, ids.pad, ids.to_dec, ids.from_dec
local first, sampled_word = ids.first, ids.sampled_word

local _M = {}

local SAMPLED = { [true] = "1", [false] = "0" }

-- W3C trace context: traceparent 00-<32 hex>-<16 hex>-<2 hex flags>
local w3c = {}
function w3c.extract(headers)
    local tp = first(headers["traceparent"])
    if not tp then
        return nil
    end
    local ver, tid, pid, flags = match(tp, "^(%x%x)%-(%x+)%-(%x+)%-(%x%x)$")
    if not ver or ver == "ff" or #tid ~= 32 or #pid ~= 16 then
        return nil
    end
    local trace_id, span_id = hex_id(lower(tid), 16), hex_id(lower(pid), 8)
    if not trace_id or not span_id then
        return nil
    end
    local f = tonumber(flags, 16)
    return { trace_id = trace_id, span_id = span_id, should_sample = f % 2 == 1,
             w3c_flags = f }
end
-- Kong 3.9 writes the sampled flag alone (the incoming flags are not kept)
function w3c.inject(ctx, set)
    local tid = to_hex(pad(ctx.trace_id, 16))
    set("traceparent", format("00-%s-%s-%s", tid, to_hex(ctx.span_id),
                              ctx.should_sample and "01" or "00"))
    return tid
end
_M.w3c = w3c

-- B3, multi headers or the single `b3` header (also inside tracestate)
local b3 = {}
local function b3_single(value)
    if value == "0" or value == "1" or value == "d" then
        return { should_sample = sampled_word(value), single_header = true, flags = value == "d"
                 and 1 or nil }
    end
    local tid, sid, rest = match(value, "^(%x+)%-(%x+)(.*)$")
    if not tid or (#tid ~= 16 and #tid ~= 32) or #sid ~= 16 then
        return nil
    end
    local ctx = { trace_id = hex_id(lower(tid), 16), span_id = hex_id(lower(sid), 8),
                  single_header = true }
    if rest ~= "" then
        local flag, pid = match(rest, "^%-([01d])(.*)$")
        if not flag then
            return nil
        end
        ctx.should_sample = sampled_word(flag)
        ctx.flags = flag == "d" and 1 or nil
        if pid ~= "" then
            pid = match(pid, "^%-(%x+)$")
            if not pid or #pid ~= 16 then
                return nil
            end
            ctx.parent_id = hex_id(lower(pid), 8)
        end
    end
    if not ctx.trace_id or not ctx.span_id then
        return nil
    end
    return ctx
end
function b3.extract(headers)
    local single = first(headers["b3"])
    if not single then
        local ts = first(headers["tracestate"])
        single = ts and match(ts, "b3=([^,]+)")
    end
    if single then
        return b3_single(single)
    end
    local tid = first(headers["x-b3-traceid"])
    local sampled = first(headers["x-b3-sampled"])
    local flags = first(headers["x-b3-flags"])
    if not tid and not sampled and not flags then
        return nil
    end
    local ctx = {}
    if tid then
        if #tid ~= 16 and #tid ~= 32 then
            return nil
        end
        ctx.trace_id = hex_id(lower(tid), 16)
        ctx.span_id = hex_id(lower(first(headers["x-b3-spanid"]) or ""), 8)
        local pid = first(headers["x-b3-parentspanid"])
        ctx.parent_id = pid and hex_id(lower(pid), 8)
        if not ctx.trace_id or not ctx.span_id then
            return nil
        end
    end
    if flags == "1" then
        ctx.should_sample, ctx.flags = true, 1
    elseif sampled == "1" or sampled == "true" then
        ctx.should_sample = true
    elseif sampled == "0" or sampled == "false" then
        ctx.should_sample = false
    end
    return ctx
end
function b3.inject(ctx, set)
    set("x-b3-traceid", to_hex(ctx.trace_id))
    set("x-b3-spanid", to_hex(ctx.span_id))
    if ctx.parent_id then
        set("x-b3-parentspanid", to_hex(ctx.parent_id))
    end
    if ctx.flags == 1 then
        set("x-b3-flags", "1")
    elseif ctx.should_sample ~= nil then
        set("x-b3-sampled", SAMPLED[ctx.should_sample])
    end
    return to_hex(ctx.trace_id)
end
_M.b3 = b3
_M["b3-single"] = {
    extract = b3.extract,
    inject = function(ctx, set)
        local v = to_hex(ctx.trace_id) .. "-" .. to_hex(ctx.span_id)
        if ctx.flags == 1 then
            v = v .. "-d"
        elseif ctx.should_sample ~= nil then
            v = v .. "-" .. SAMPLED[ctx.should_sample]
        end
        if ctx.parent_id then
            v = v .. "-" .. to_hex(ctx.parent_id)
        end
        set("b3", v)
        return to_hex(ctx.trace_id)
    end,
}

-- Jaeger: uber-trace-id <trace>:<span>:<parent>:<flags>
local jaeger = {}
function jaeger.extract(headers)
    local v = first(headers["uber-trace-id"])
    if not v then
        return nil
    end
    local tid, sid, pid, flags = match(v, "^(%x+):(%x+):(%x+):(%x+)$")
    if not tid or #tid > 32 or #sid > 16 then
        return nil
    end
    local trace_id = hex_id(lower(tid), 16)
    local span_id = hex_id(lower(sid), 8)
    if not trace_id or not span_id then
        return nil
    end
    local ctx = { trace_id = trace_id, span_id = span_id,
                  parent_id = pid ~= "0" and hex_id(lower(pid), 8) or nil,
                  should_sample = tonumber(flags, 16) % 2 == 1 }
    return ctx
end
function jaeger.inject(ctx, set)
    local tid = to_hex(pad(ctx.trace_id, 16))
    set("uber-trace-id", format("%s:%s:%s:%s", tid, to_hex(ctx.span_id),
                                ctx.parent_id and to_hex(ctx.parent_id) or "0",
                                ctx.should_sample and "01" or "00"))
    return tid
end
_M.jaeger = jaeger

-- OpenTracing (lightstep): ot-tracer-traceid / spanid / sampled
local ot = {}
function ot.extract(headers)
    local tid = first(headers["ot-tracer-traceid"])
    if not tid then
        return nil
    end
    local trace_id = hex_id(lower(tid), 16)
    local span_id = hex_id(lower(first(headers["ot-tracer-spanid"]) or ""), 8)
    if not trace_id or not span_id then
        return nil
    end
    return { trace_id = trace_id, span_id = span_id,
             should_sample = sampled_word(first(headers["ot-tracer-sampled"])) }
end
function ot.inject(ctx, set)
    set("ot-tracer-traceid", to_hex(ctx.trace_id))
    set("ot-tracer-spanid", to_hex(ctx.span_id))
    if ctx.should_sample ~= nil then
        set("ot-tracer-sampled", SAMPLED[ctx.should_sample])
    end
    return to_hex(ctx.trace_id)
end
_M.ot = ot

-- Datadog: decimal 64-bit ids
local datadog = {}
function datadog.extract(headers)
    local tid = first(headers["x-datadog-trace-id"])
    if not tid then
        return nil
    end
    local trace_id = from_dec(tid)
    local span_id = from_dec(first(headers["x-datadog-parent-id"]))
    if not trace_id or not span_id then
        return nil
    end
    local prio = tonumber(first(headers["x-datadog-sampling-priority"]))
    local sampled
    if prio then
        sampled = prio > 0
    end
    return { trace_id = trace_id, span_id = span_id, should_sample = sampled }
end
function datadog.inject(ctx, set)
    local tid = to_dec(ctx.trace_id)
    set("x-datadog-trace-id", tid)
    set("x-datadog-parent-id", to_dec(ctx.span_id))
    if ctx.should_sample ~= nil then
        set("x-datadog-sampling-priority", SAMPLED[ctx.should_sample])
    end
    return tid
end
_M.datadog = datadog

-- AWS X-Ray: Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>
local aws = {}
function aws.extract(headers)
    local v = first(headers["x-amzn-trace-id"])
    if not v then
        return nil
    end
    local ctx = {}
    for key, value in v:gmatch("%s*([^=;]+)=([^;]*)") do
        if key == "Root" then
            local t1, t2 = match(value, "^1%-(%x%x%x%x%x%x%x%x)%-(%x+)$")
            if not t1 or #t2 ~= 24 then
                return nil
            end
            ctx.trace_id = hex_id(lower(t1 .. t2), 16)
        elseif key == "Parent" then
            if #value ~= 16 then
                return nil
            end
            ctx.span_id = hex_id(lower(value), 8)
        elseif key == "Sampled" then
            ctx.should_sample = sampled_word(value)
        end
    end
    if not ctx.trace_id or not ctx.span_id then
        return nil
    end
    return ctx
end
function aws.inject(ctx, set)
    local tid = to_hex(pad(ctx.trace_id, 16))
    local root = "1-" .. sub(tid, 1, 8) .. "-" .. sub(tid, 9)
    set("x-amzn-trace-id", format("Root=%s;Parent=%s;Sampled=%s", root, to_hex(ctx.span_id),
                                  ctx.should_sample and "1" or "0"))
    return root
end
_M.aws = aws

-- Google Cloud: x-cloud-trace-context <32 hex>/<decimal span>;o=<0|1>
local gcp = {}
function gcp.extract(headers)
    local v = first(headers["x-cloud-trace-context"])
    if not v then
        return nil
    end
    local tid, sid, opt = match(v, "^(%x+)/(%d+)(.*)$")
    if not tid or #tid ~= 32 then
        return nil
    end
    local trace_id, span_id = hex_id(lower(tid), 16), from_dec(sid)
    if not trace_id or not span_id then
        return nil
    end
    local o = match(opt, "^;o=([01])$")
    if opt ~= "" and not o then
        return nil
    end
    return { trace_id = trace_id, span_id = span_id, should_sample = sampled_word(o) }
end
function gcp.inject(ctx, set)
    local tid = to_hex(pad(ctx.trace_id, 16))
    set("x-cloud-trace-context", format("%s/%s;o=%s", tid, to_dec(ctx.span_id),
                                        ctx.should_sample and "1" or "0"))
    return tid
end
_M.gcp = gcp

_M.EXTRACTORS = { "w3c", "b3", "jaeger", "ot", "datadog", "aws", "gcp" }
_M.INJECTORS = { "w3c", "b3", "b3-single", "jaeger", "ot", "datadog", "aws", "gcp" }

return _M
