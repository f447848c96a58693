-- kong.observability.tracing.propagation: Kong 3.9's tracing header
-- propagation, shared by the opentelemetry and zipkin plugins. The first
-- `extract` format found in the request wins; `clear` headers are removed;
-- the plugin's callback turns the extracted context into the one to send;
-- each `inject` format writes it (`preserve`: the extracted format, b3 single
-- staying single, else `default_format`).
local formats = require("kong.observability.tracing.propagation.formats")

local ngx = ngx
local get_headers = ngx.req.get_headers

local ipairs = ipairs

local _M = {}

local EMPTY = {}

local function legacy(header_type, default_format)
    if header_type == "ignore" then
        return { extract = EMPTY, clear = EMPTY, inject = { "preserve" },
                 default_format = default_format }
    end
    local inject = { "preserve" }
    if header_type and header_type ~= "preserve" then
        inject[2] = header_type
    end
    -- Kong's legacy order: b3 before w3c
    return { extract = { "b3", "w3c", "jaeger", "ot", "datadog", "aws", "gcp" },
             clear = EMPTY, inject = inject, default_format = default_format }
end

-- get_plugin_params(conf): the propagation settings of a plugin instance.
-- The `propagation` record wins once any of extract/clear/inject is set;
-- else the deprecated header_type (and zipkin's default_header_type) say.
function _M.get_plugin_params(conf)
    local p = conf.propagation or EMPTY
    if p.extract or p.inject or p.clear then
        return { extract = p.extract or EMPTY, clear = p.clear or EMPTY,
                 inject = p.inject or EMPTY, default_format = p.default_format }
    end
    return legacy(conf.header_type, conf.default_header_type or p.default_format)
end

local function set_header(name, value)
    kong.service.request.set_header(name, value)
end

-- extract(params, headers) → ctx, format (nil when no format matched)
function _M.extract(params, headers)
    for _, f in ipairs(params.extract) do
        local ctx = formats[f].extract(headers)
        if ctx then
            return ctx, f
        end
    end
end

-- the key of each format's trace id in the serialized log (Kong's)
local LOG_KEY = { ["b3-single"] = "b3" }

function _M.inject(params, ctx, found)
    local done = {}
    local ids
    for _, f in ipairs(params.inject) do
        if f == "preserve" then
            if found == "b3" and ctx.single_header then
                f = "b3-single"
            else
                f = found or params.default_format
            end
        end
        if not done[f] then
            done[f] = true
            ids = ids or {}
            ids[LOG_KEY[f] or f] = formats[f].inject(ctx, set_header)
        end
    end
    if ids then
        kong.log.set_serialize_value("trace_id", ids)
    end
end

-- propagate(params, get_inject_ctx, conf): the access-phase work
function _M.propagate(params, get_inject_ctx, conf)
    local headers = get_headers()
    local ctx, found = _M.extract(params, headers)
    for _, name in ipairs(params.clear) do
        kong.service.request.clear_header(name)
    end
    local out = get_inject_ctx(ctx or {}, conf, found)
    if out and out.trace_id and out.span_id then
        _M.inject(params, out, found)
    end
end

return _M
