-- Runs router-expression cases given as JSON (trees made by the control
-- plane's parser, kongpy/schemas/expressions.py) through the data planes'
-- evaluators, and writes what each case gave. Driven by
-- tests/unit/schemas/test_expressions_eval.py inside nginx (real ngx.re).
local cjson = require("cjson.safe")
local router = require("kongpy.router")
local stream_router = require("kongpy.stream.router")

local _M = {}

local function read(path)
    local f = assert(io.open(path, "rb"))
    local data = f:read("*a")
    f:close()
    return assert(cjson.decode(data))
end

local function request(q)
    return {
        method = q.method or "GET", host = q.host or "example.com", port = q.port or 8000,
        path = q.path or "/", headers = q.headers or {}, sni = q.sni,
        https = q.https or false, queries = q.queries, src_ip = q.src_ip,
        src_port = q.src_port, dst_ip = q.dst_ip,
    }
end

-- {routes = [...], requests = [...]} -> per request
-- {route id | false, prefix, captures, upstream path}
local function http_case(case)
    local services = { s1 = { id = "s1", path = "/" }, s2 = { id = "s2", path = "/base" } }
    local rt, err = router.new(case.routes, services, {}, "expressions")
    if not rt then
        return { error = err }
    end
    local out = {}
    for i, q in ipairs(case.requests) do
        local req = request(q)
        local entry, prefix, captures = router.find(rt, req)
        local res = entry and router.result_for(entry, prefix, captures, req.path)
        out[i] = { entry and entry.id or false, prefix or false, captures or false,
                   res and res.upstream_path or false }
    end
    return out
end

local function stream_case(case)
    local rt, err = stream_router.build(case.routes, "expressions")
    if not rt then
        return { error = err }
    end
    local out = {}
    for i, conn in ipairs(case.requests) do
        local r = stream_router.match(rt, conn)
        out[i] = { r and r.id or false }
    end
    return out
end

function _M.run(in_path, out_path)
    local cases = read(in_path)
    local results = {}
    for i, case in ipairs(cases) do
        local ok, res = pcall(case.stream and stream_case or http_case, case)
        results[i] = ok and res or { error = tostring(res) }
    end
    local f = assert(io.open(out_path, "wb"))
    f:write(cjson.encode(results))
    f:close()
end

return _M
