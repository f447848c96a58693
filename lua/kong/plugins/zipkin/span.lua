-- The zipkin plugin's spans, shaped as Zipkin v2 spans: microsecond
-- timestamps, tags, annotations.
local rand = require("kong.tools.rand")

local floor = math.floor
local setmetatable = setmetatable
local get_rand_bytes = rand.get_rand_bytes

local _M = {}

local span_mt = {}
span_mt.__index = span_mt

function _M.new(kind, name, start_mu, should_sample, trace_id, span_id, parent_id)
    return setmetatable({ kind = kind, name = name, timestamp = floor(start_mu),
                          should_sample = should_sample, trace_id = trace_id,
                          span_id = span_id or get_rand_bytes(8), parent_id = parent_id },
                        span_mt)
end

function span_mt:new_child(kind, name, start_mu)
    return _M.new(kind, name, start_mu, self.should_sample, self.trace_id, nil, self.span_id)
end

function span_mt:finish(end_mu)
    local duration = floor(end_mu - self.timestamp)
    self.duration = duration > 0 and duration or 0
end

function span_mt:set_tag(key, value)
    local tags = self.tags
    if not tags then
        tags = {}
        self.tags = tags
    end
    tags[key] = value
end

function span_mt:annotate(value, at_mu)
    local a = self.annotations
    if not a then
        a = {}
        self.annotations = a
    end
    a[#a + 1] = { value = value, timestamp = floor(at_mu) }
end

return _M
