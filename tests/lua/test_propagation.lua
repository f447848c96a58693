-- The tracing header formats of kong.observability.tracing.propagation:
-- each format's extraction of known headers and its injection, and the
-- legacy header_type mapping.
local formats = require("kong.observability.tracing.propagation.formats")
local propagation = require("kong.observability.tracing.propagation")
local to_hex = require("kongpy.tools.string").to_hex
local eq = require("runner").eq

local cases = {}

local TID = "0af7651916cd43dd8448eb211c80319c"
local SID = "b7ad6b7169203331"
local PID = "00f067aa0ba902b7"

local function hex(id)
    return id and to_hex(id)
end

local function add(name, fn)
    cases[#cases + 1] = { name, fn }
end

-- { format, headers, trace id, span id, parent id, sampled }
local EXTRACT = {
    { "w3c", { traceparent = "00-" .. TID .. "-" .. SID .. "-01" }, TID, SID, nil, true },
    { "w3c", { traceparent = "00-" .. TID .. "-" .. SID .. "-00" }, TID, SID, nil, false },
    { "w3c", { traceparent = "ff-" .. TID .. "-" .. SID .. "-01" } },
    { "w3c", { traceparent = "00-" .. string.rep("0", 32) .. "-" .. SID .. "-01" } },
    { "b3", { ["x-b3-traceid"] = TID, ["x-b3-spanid"] = SID, ["x-b3-parentspanid"] = PID,
              ["x-b3-sampled"] = "1" }, TID, SID, PID, true },
    { "b3", { ["x-b3-traceid"] = "8448eb211c80319c", ["x-b3-spanid"] = SID,
              ["x-b3-sampled"] = "0" }, "8448eb211c80319c", SID, nil, false },
    { "b3", { b3 = TID .. "-" .. SID .. "-d-" .. PID }, TID, SID, PID, true },
    { "b3", { tracestate = "x=1,b3=" .. TID .. "-" .. SID .. "-0" }, TID, SID, nil, false },
    { "b3", { b3 = "0" }, nil, nil, nil, false },
    { "jaeger", { ["uber-trace-id"] = TID .. ":" .. SID .. ":" .. PID .. ":1" },
      TID, SID, PID, true },
    { "jaeger", { ["uber-trace-id"] = TID .. ":" .. SID .. ":0:0" }, TID, SID, nil, false },
    { "ot", { ["ot-tracer-traceid"] = TID, ["ot-tracer-spanid"] = SID,
              ["ot-tracer-sampled"] = "1" }, TID, SID, nil, true },
    { "datadog", { ["x-datadog-trace-id"] = "9532127138774266268",
                   ["x-datadog-parent-id"] = "13235353014750950193",
                   ["x-datadog-sampling-priority"] = "1" },
      "8448eb211c80319c", SID, nil, true },
    { "aws", { ["x-amzn-trace-id"] = "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent="
                                      .. SID .. ";Sampled=1" }, TID, SID, nil, true },
    { "gcp", { ["x-cloud-trace-context"] = TID .. "/13235353014750950193;o=1" },
      TID, SID, nil, true },
    { "gcp", { ["x-cloud-trace-context"] = TID .. "/0;o=1" } },
}
for i, c in ipairs(EXTRACT) do
    add("extract " .. c[1] .. " #" .. i, function()
        local ctx = formats[c[1]].extract(c[2])
        if not c[3] and c[6] == nil then
            eq(ctx, nil, "context")
            return
        end
        eq(hex(ctx.trace_id), c[3], "trace id")
        eq(hex(ctx.span_id), c[4], "span id")
        eq(hex(ctx.parent_id), c[5], "parent id")
        eq(ctx.should_sample, c[6], "sampled")
    end)
end

local function from_hex(s)
    return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

-- { format, header, value } for trace TID, span SID, parent PID, sampled
local INJECT = {
    { "w3c", "traceparent", "00-" .. TID .. "-" .. SID .. "-01" },
    { "b3", "x-b3-parentspanid", PID },
    { "b3", "x-b3-sampled", "1" },
    { "b3-single", "b3", TID .. "-" .. SID .. "-1-" .. PID },
    { "jaeger", "uber-trace-id", TID .. ":" .. SID .. ":" .. PID .. ":01" },
    { "ot", "ot-tracer-spanid", SID },
    { "datadog", "x-datadog-trace-id", "9532127138774266268" },
    { "datadog", "x-datadog-parent-id", "13235353014750950193" },
    { "aws", "x-amzn-trace-id", "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=" .. SID
                                .. ";Sampled=1" },
    { "gcp", "x-cloud-trace-context", TID .. "/13235353014750950193;o=1" },
}
for _, c in ipairs(INJECT) do
    add("inject " .. c[1] .. " " .. c[2], function()
        local got = {}
        formats[c[1]].inject({ trace_id = from_hex(TID), span_id = from_hex(SID),
                               parent_id = from_hex(PID), should_sample = true },
                             function(k, v) got[k] = v end)
        eq(got[c[2]], c[3], c[2])
    end)
end

add("inject returns the trace id as each format writes it", function()
    local ctx = { trace_id = from_hex(TID), span_id = from_hex(SID), should_sample = true }
    local set = function() end
    eq(formats.w3c.inject(ctx, set), TID, "w3c")
    eq(formats["b3-single"].inject(ctx, set), TID, "b3-single")
    eq(formats.datadog.inject(ctx, set), "9532127138774266268", "datadog")
    eq(formats.aws.inject(ctx, set), "1-0af76519-16cd43dd8448eb211c80319c", "aws")
end)

add("w3c pads a 64-bit trace id", function()
    local got
    formats.w3c.inject({ trace_id = from_hex("8448eb211c80319c"), span_id = from_hex(SID),
                         should_sample = false }, function(_, v) got = v end)
    eq(got, "00-00000000000000008448eb211c80319c-" .. SID .. "-00")
end)

add("legacy header_type mapping", function()
    local p = propagation.get_plugin_params({ header_type = "preserve",
                                              default_header_type = "b3",
                                              propagation = { default_format = "b3" } })
    eq(table.concat(p.extract, ","), "b3,w3c,jaeger,ot,datadog,aws,gcp")
    eq(table.concat(p.inject, ","), "preserve")
    eq(p.default_format, "b3")
    p = propagation.get_plugin_params({ header_type = "ignore",
                                        propagation = { default_format = "w3c" } })
    eq(#p.extract, 0, "ignore extracts")
    eq(table.concat(p.inject, ","), "preserve")
    p = propagation.get_plugin_params({ header_type = "jaeger",
                                        propagation = { default_format = "w3c" } })
    eq(table.concat(p.inject, ","), "preserve,jaeger")
    p = propagation.get_plugin_params({ header_type = "jaeger", propagation = {
        extract = { "gcp" }, default_format = "w3c" } })
    eq(table.concat(p.extract, ","), "gcp")
    eq(#p.inject, 0, "explicit record: nothing injected")
end)

return cases
