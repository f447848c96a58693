-- OTLP protobuf encoding of spans (opentelemetry/proto/trace/v1): a span is
-- encoded once, in the log phase, into the bytes of a `Span` message; a
-- batch of them becomes one ExportTraceServiceRequest with the node's
-- resource and Kong's instrumentation scope. Only the wire types this needs
-- are written: varint, 64-bit and length-delimited.
local ffi = require("ffi")

local type = type
local pairs = pairs
local tostring = tostring
local tonumber = tonumber
local ipairs = ipairs
local char = string.char
local rep = string.rep
local sub = string.sub
local floor = math.floor
local concat = table.concat
local sort = table.sort

local _M = {}

local u64 = ffi.new("uint64_t[1]")
local dbl = ffi.new("double[1]")

local function varint(n)
    if n < 0 then
        -- int64 two's complement: ten bytes
        local v = ffi.cast("uint64_t", ffi.cast("int64_t", n))
        local out = {}
        while v >= 0x80 do
            out[#out + 1] = char(tonumber(v % 0x80) + 0x80)
            v = v / 0x80
        end
        out[#out + 1] = char(tonumber(v))
        return concat(out)
    end
    local out = {}
    n = floor(n)
    while n >= 0x80 do
        out[#out + 1] = char(n % 0x80 + 0x80)
        n = floor(n / 0x80)
    end
    out[#out + 1] = char(n)
    return concat(out)
end

local function tag(field, wire)
    return varint(field * 8 + wire)
end

local function bytes_field(field, s)
    return tag(field, 2) .. varint(#s) .. s
end

local function varint_field(field, n)
    return tag(field, 0) .. varint(n)
end

local function fixed64_field(field, n)
    u64[0] = n
    return tag(field, 1) .. ffi.string(u64, 8)
end

local function double_field(field, n)
    dbl[0] = n
    return tag(field, 1) .. ffi.string(dbl, 8)
end

-- AnyValue: string 1, bool 2, int 3, double 4, array 5
local function any_value(v)
    local t = type(v)
    if t == "string" then
        return bytes_field(1, v)
    elseif t == "boolean" then
        return varint_field(2, v and 1 or 0)
    elseif t == "number" then
        if v == floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
            return varint_field(3, v)
        end
        return double_field(4, v)
    elseif t == "table" then
        local items = {}
        for i = 1, #v do
            items[i] = bytes_field(1, any_value(v[i]))
        end
        return bytes_field(5, concat(items))
    end
    return bytes_field(1, tostring(v))
end

-- repeated KeyValue (key 1, value 2), sorted by key for a stable output
local function key_values(field, attrs)
    if not attrs then
        return ""
    end
    local keys = {}
    for k in pairs(attrs) do
        keys[#keys + 1] = k
    end
    sort(keys)
    local out = {}
    for i, k in ipairs(keys) do
        out[i] = bytes_field(field, bytes_field(1, k) .. bytes_field(2, any_value(attrs[k])))
    end
    return concat(out)
end
_M.key_values = key_values

local function pad(id, n)
    if #id >= n then
        return sub(id, -n)
    end
    return rep("\0", n - #id) .. id
end

-- encode_span(span, trace_id): the bytes of one Span message
function _M.encode_span(span, trace_id)
    local parts = {
        bytes_field(1, pad(trace_id or span.trace_id, 16)),
        bytes_field(2, span.span_id),
    }
    if span.parent_id then
        parts[#parts + 1] = bytes_field(4, pad(span.parent_id, 8))
    end
    parts[#parts + 1] = bytes_field(5, span.name or "")
    parts[#parts + 1] = varint_field(6, span.kind or 1)
    parts[#parts + 1] = fixed64_field(7, span.start_time_ns or 0)
    parts[#parts + 1] = fixed64_field(8, span.end_time_ns or 0)
    parts[#parts + 1] = key_values(9, span.attributes)
    local events = span.events
    if events then
        for _, e in ipairs(events) do
            parts[#parts + 1] = bytes_field(11, fixed64_field(1, e.time_ns)
                                               .. bytes_field(2, e.name)
                                               .. key_values(3, e.attributes))
        end
    end
    local status = span.status
    if status then
        local msg = status.message and bytes_field(2, status.message) or ""
        parts[#parts + 1] = bytes_field(15, msg .. varint_field(3, status.code))
    end
    return bytes_field(2, concat(parts))
end

-- encode_traces(encoded_spans, resource_attrs): an ExportTraceServiceRequest
function _M.encode_traces(spans, resource, scope_name, scope_version)
    local scope = bytes_field(1, bytes_field(1, scope_name) .. bytes_field(2, scope_version))
    local scope_spans = bytes_field(2, scope .. concat(spans))
    local res = bytes_field(1, key_values(1, resource))
    return bytes_field(1, res .. scope_spans)
end

return _M
