-- kongpy.tools.log_json: the same bytes and errors as lua-cjson (Debian's,
-- default settings) for every byte in strings, numbers of every kind,
-- arrays (holes, sparse), objects with number keys, nesting, a log-object
-- shaped table; frozen tables keep their first encoding; put() takes back
-- what a failed value appended.
local cjson = require("cjson.safe")
local buffer = require("string.buffer")
local json = require("kongpy.tools.log_json")
local eq = require("runner").eq

local function same(value)
    local want, want_err = cjson.encode(value)
    local got, got_err = json.encode(value)
    eq(got, want)
    eq(got_err, want_err)
end

local function all_bytes()
    local t = {}
    for i = 0, 255 do
        t[#t + 1] = string.char(i)
    end
    return table.concat(t)
end

local function nested(depth)
    local root = {}
    local t = root
    for _ = 2, depth do
        t.x = {}
        t = t.x
    end
    return root
end

return {
    { "strings: every byte escaped as cjson does, the second time too", function()
        same(all_bytes())
        for _ = 1, 2 do
            for i = 0, 255 do
                same(string.char(i))
                same("a" .. string.char(i) .. "b")
                same({ ["k" .. string.char(i)] = string.char(i) })
            end
        end
        -- more strings than the encoder remembers, then the first ones again
        for i = 1, 5000 do
            same("s" .. i .. "/")
        end
        same("s1/")
        same(string.rep("x/", 100))
        same("")
        same("http://example.test/a?b=\"c\"\\d")
        same("é ü 日本")
    end },
    { "numbers: integers, fractions, exponents, negatives, -0, timestamps", function()
        for _, n in ipairs({ 0, 1, -1, 200, 65535, 2 ^ 31, 2 ^ 53, 2 ^ 63, 1e15, 1e16, 1e300,
                             0.1, 1 / 3, -2.5, 1e-7, 123456789012345678, -0.0,
                             1796172190407.0001, 1796172190407000064, 0.5 + 2 ^ 40 }) do
            same(n)
            same({ n = n })
            same({ n })
        end
        same(0 / 0)
        same(math.huge)
        same({ x = -math.huge })
    end },
    { "scalars and null", function()
        same(true)
        same(false)
        same(ngx.null)
        same({ a = ngx.null, b = true, c = false })
        same({ f = print })
        same(print)
    end },
    { "arrays and objects as cjson tells them apart", function()
        same({})
        same({ 1, 2, 3 })
        same({ "a", { "b", {} }, {} })
        same({ [1] = "a", [3] = "c" })
        same({ [1] = 1, [2] = 2, [4] = 4, [10] = 10 })
        same({ [11] = 1 })
        same({ [20] = 1, [1] = 1 })
        same({ [1.5] = "x" })
        same({ [0] = "zero" })
        same({ [-1] = "minus" })
        same({ [1] = "a", b = "b" })
        same({ [2] = "only two" })
        same({ [true] = 1 })
        same({ a = { [print] = 1 } })
    end },
    { "nesting: 1000 levels encode, 1001 are refused", function()
        same(nested(1000))
        same(nested(1001))
        local loop = {}
        loop.self = loop
        same(loop)
    end },
    { "a log object", function()
        same({
            request = { id = "ab12", uri = "/s7", url = "http://127.0.0.1:8000/s7",
                        querystring = { a = true, b = { "1", "2" } }, method = "GET",
                        headers = { host = "127.0.0.1:8000", ["user-agent"] = "wrk" },
                        size = 64 },
            upstream_uri = "/s7", upstream_status = "200",
            response = { status = 200, headers = { ["content-length"] = "2" }, size = 250 },
            latencies = { kong = 0, proxy = 1, request = 1, receive = 0 },
            tries = { { balancer_start = 1796172190407, balancer_start_ns = 1796172190407000064,
                        ip = "127.0.0.1", port = 9001, balancer_latency = 0 } },
            route = { id = "r1", paths = { "/s7" }, strip_path = true, created_at = 1796172100 },
            client_ip = "127.0.0.1", started_at = 1796172190407.0001, source = "upstream",
        })
    end },
    { "a frozen table keeps the encoding it had first", function()
        local t = json.freeze({ id = "e1", port = 80, tags = { "a" } })
        local first = json.encode({ t, t })
        eq(first, cjson.encode({ t, t }))
        t.port = 81
        eq(json.encode({ t }), "[" .. cjson.encode({ id = "e1", port = 80, tags = { "a" } }) .. "]")
    end },
    { "put() takes back what a failed value appended, its separator too", function()
        local buf = buffer.new()
        buf:put("[1,")
        local ok, err = json.put(buf, { a = "x", b = { 1, print } })
        eq(ok, nil)
        eq(err, "Cannot serialise function: type not supported")
        eq(buf:tostring(), "[1,")
        assert(json.put(buf, { 2 }))
        eq(buf:tostring(), "[1,[2]")
        buf:reset()
        buf:put("[1")
        eq(json.put(buf, print, ","), nil)
        eq(buf:tostring(), "[1")
        assert(json.put(buf, 2, ","))
        eq(buf:tostring(), "[1,2")
    end },
}
