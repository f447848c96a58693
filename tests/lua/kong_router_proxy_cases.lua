-- Kong 3.9's proxy router scenarios (spec/02-integration/05-proxy/
-- 02-router_spec.lua) as routing facts: which route answers and the path the
-- upstream sees. Kong's proxy routes default to strip_path = true; a route
-- with `service_enabled = false` has a disabled service. Same format as
-- kong_router_cases.lua.
local TRAD = { "traditional" }

local METHODS_PATHS = {
    { id = "r01", strip_path = true, methods = { "GET" }, hosts = { "ahost.test" },
      paths = { "/unrelated/longer/uri/that/should/not/match", "/root/fixture" },
      service_path = "/status/201" },
    { id = "r02", strip_path = true, methods = { "GET" }, paths = { "/root/fixture/get" },
      hosts = { "ahost.test" }, service_path = "/status/202" },
    { id = "r03", strip_path = true, methods = { "GET" }, paths = { "/root/fixture/get" },
      hosts = { "anotherhost.test" }, service_path = "/status/203" },
    { id = "r04", strip_path = true, methods = { "GET" }, paths = { "/root/fixture/get" },
      hosts = { "onemorehost.test" }, service_path = "/status/204" },
    { id = "r05", paths = { "/rest/devportal/api/v1", "/rest/devportal" },
      hosts = { "api.local" }, service_path = "/status/205" },
    { id = "r06", paths = { "/rest/devportal/aux" }, hosts = { "api.local" },
      service_path = "/status/206" },
    { id = "r07", paths = { "/rest/devportal/aux" }, hosts = { "test-api.local" },
      service_path = "/status/207" },
    { id = "r08", paths = { "/rest/devportal/aux" }, hosts = { "atest-api.local" },
      service_path = "/status/208" },
    { id = "r09", paths = { "/rest/devportal" }, hosts = { "atest-api.local" },
      service_path = "/status/209" },
    { id = "r10", paths = { "/concat_test/devportal/api/v1", "/concat_test/devportal" },
      hosts = { "api.local" } },
    { id = "r11", paths = { "/concat_test/devportal/aux" }, hosts = { "api.local" } },
    { id = "r12", paths = { "/concat_test/devportal/aux" }, hosts = { "test-api.local" } },
    { id = "r13", paths = { "/concat_test/devportal/aux" }, hosts = { "atest-api.local" } },
    { id = "r14", paths = { "/concat_test/devportal" }, hosts = { "atest-api.local" } },
}

-- Kong's regression #5438: every path of routes 1-9 reaches its route, and
-- routes 10-14 keep the rest of the path.
local REGRESSION_5438 = {}
for i, r in ipairs(METHODS_PATHS) do
    for _, p in ipairs(r.paths) do
        local rq = { { path = p, host = r.hosts[1] }, r.id, flavors = TRAD }
        if i <= 9 then
            rq.upstream_path = r.service_path
        else
            rq[1].path = p .. "/status/418"
            rq.upstream_path = "/status/418"
        end
        REGRESSION_5438[#REGRESSION_5438 + 1] = rq
    end
end
local function add(list, more)
    for _, rq in ipairs(more) do list[#list + 1] = rq end
    return list
end

return {
    { "proxy: use cases", {
        { id = "r1", methods = { "GET" }, strip_path = false },
        { id = "r2", methods = { "POST", "PUT" }, paths = { "/post", "/put" },
          strip_path = false },
        { id = "r3", paths = { "/mock_upstream" }, service_path = "/status" },
        { id = "r4", paths = { "/private" }, strip_path = false, service_path = "/basic-auth/" },
        { id = "r5", paths = { "~/users/\\d+/profile" }, service_path = "/anything" },
        { id = "r6", hosts = { "serviceless-route-http.test" }, serviceless = true },
        { id = "r7", paths = { "/disabled-service1" }, strip_path = false,
          service_path = "/disabled-service-path/", service_enabled = false },
        { id = "r8", paths = { "~/enabled-service/\\w+" }, service_path = "/anything/" },
        { id = "r9", paths = { "/enabled-service/disabled" }, service_path = "/some-path/",
          service_enabled = false },
    }, {
        { { path = "/", host = "serviceless-route-http.test" }, "r6" },
        { { method = "POST", path = "/post" }, "r2", upstream_path = "/post" },
        { { method = "DELETE", path = "/post" }, false },
        { { path = "/get" }, "r1", upstream_path = "/get" },
        { { path = "/mock_upstream/201" }, "r3", upstream_path = "/status/201" },
        { { path = "/private/passwd" }, "r4", upstream_path = "/basic-auth/private/passwd" },
        -- Kong answers 404 here: the GET route's upstream knows no such path
        { { path = "/users/foo/profile" }, "r1", upstream_path = "/users/foo/profile" },
        { { path = "/users/123/profile" }, "r5", upstream_path = "/anything" },
        -- a route of a disabled service is left out of the router
        { { path = "/disabled-service1" }, "r1", upstream_path = "/disabled-service1" },
        { { path = "/enabled-service/disabled" }, "r8", upstream_path = "/anything" },
    }, node = true },
    { "proxy: regexes by created_at", {
        { id = "a", created_at = 1234567890, paths = { "~/status/(re)" },
          service_path = "/status/200" },
        { id = "b", created_at = 1234567891, paths = { "~/status/(r)" },
          service_path = "/status/200" },
        { id = "c", created_at = 1234567892, paths = { "/status" },
          service_path = "/status/200" },
    }, {
        { { path = "/status/r" }, "b" },
        { { path = "/status/re" }, "a" },
    }, flavors = TRAD },
    { "proxy: regexes by regex_priority, then created_at", {
        { id = "a", paths = { "~/status/(?P<foo>re)" }, service_path = "/status/200",
          regex_priority = 0 },
        { id = "b", paths = { "~/status/(re)" }, service_path = "/status/200",
          regex_priority = 4 },
        { id = "c", created_at = 1234567890, paths = { "~/status/(ab)" },
          service_path = "/status/200", regex_priority = 0 },
        { id = "d", created_at = 1234567891, paths = { "~/status/(ab)c?" },
          service_path = "/status/200", regex_priority = 0 },
    }, {
        { { path = "/status/re" }, "b", upstream_path = "/status/200" },
        { { path = "/status/ab" }, "c", flavors = TRAD },
    } },
    { "proxy: URI normalization", {
        { id = "a", paths = { "/foo/bar" } },
        { id = "b", paths = { "/hello" } },
        { id = "c", paths = { "/anything/world" }, strip_path = false },
    }, {
        { { path = "/foo/a/../bar" }, "a" },
        { { path = "/foo//bar" }, "a" },
        { { path = "/foo/./bar" }, "a" },
        { { path = "/h%65llo" }, "b" },
        { { path = "/h%65llo/anything/a/../b" }, "b", upstream_path = "/anything/b" },
        { { path = "/anything/./a/../wor%6cd/a/../b" }, "c",
          upstream_path = "/anything/world/b" },
        { { path = "/anything/world/cat%20and%20dog" }, "c",
          upstream_path = "/anything/world/cat%20and%20dog" },
    }, node = true },
    { "proxy: strip_path with several paths", {
        { id = "a", paths = { "/x/y/z", "/z/y/x" } },
    }, {
        { { path = "/x/y/z/get" }, "a", upstream_path = "/get" },
        { { path = "/z/y/x/get" }, "a", upstream_path = "/get" },
        { { path = "/x/y/z/get" }, "a", upstream_path = "/get" },
    }, node = true },
    { "proxy: preserve_host routes", {
        { id = "a", preserve_host = true, hosts = { "preserved.com", "preserved.com:123" },
          service_path = "/request" },
        { id = "b", hosts = { "discarded.com" }, service_path = "/request" },
        { id = "c", strip_path = false, preserve_host = true, paths = { "/request" } },
    }, {
        { { path = "/get", host = "discarded.com" }, "b", upstream_path = "/request/get" },
        { { path = "/", host = "preserved.com" }, "a", upstream_path = "/request" },
        { { path = "/get", host = "preserved.com:80" }, "a", flavors = TRAD },
        { { path = "/get", host = "preserved.com:123" }, "a" },
        { { path = "/get", host = "preserved.com" }, "a" },
    }, node = true },
    { "proxy: root / as a catch-all", {
        { id = "a", paths = { "/" } },
        { id = "b", paths = { "/foobar" } },
    }, {
        { { path = "/get" }, "a", upstream_path = "/get" },
        { { path = "/foobar/get" }, "b", upstream_path = "/get" },
    }, node = true },
    { "proxy: [snis] for https connections", {
        { id = "a", protocols = { "https" }, snis = { "www.example.org" } },
        { id = "b", protocols = { "https" }, snis = { "example.org" } },
    }, {
        { { path = "/status/200", sni = "www.example.org", scheme = "https" }, "a" },
        { { path = "/status/201", sni = "example.org", scheme = "https" }, "b" },
    } },
    { "proxy: [headers]", {
        { id = "a", headers = { version = { "v1", "v2" } } },
        { id = "b", headers = { version = { "v3" } } },
    }, {
        { { path = "/", host = "domain.test", headers = { version = "v1" } }, "a" },
        { { path = "/", host = "domain.test", headers = { version = "v3" } }, "b" },
    }, node = true },
    { "proxy: [headers] case-insensitive", {
        { id = "a", headers = { Version = { "v1", "v2" } } },
        { id = "b", headers = { version = { "V3" } } },
    }, {
        { { path = "/", host = "domain.test", headers = { version = "v1" } }, "a" },
        { { path = "/", host = "domain.test", headers = { Version = "v3" } }, "b" },
    }, node = true },
    { "proxy: [headers] more headers first", {
        { id = "a", headers = { version = { "v1", "v2" } } },
        { id = "b", headers = { version = { "v3" }, location = { "us-east" } } },
        { id = "c", headers = { version = { "v3" } } },
    }, {
        { { path = "/", host = "domain.test", headers = { version = "v3", location = "us-east" } },
          "b" },
        { { path = "/", host = "domain.test", headers = { version = "v3" } }, "c" },
    }, node = true },
    { "proxy: the cache does not ignore headers", {
        { id = "a", hosts = { "example.test" }, paths = { "/test" },
          headers = { headertest = { "itsatest" } } },
        { id = "b", hosts = { "example.test" }, paths = { "/test" } },
    }, {
        { { path = "/test", host = "example.test", headers = { headertest = "itsatest" } }, "a" },
        { { path = "/test", host = "example.test" }, "b" },
        { { path = "/test", host = "example.test", headers = { headertest = "itsatest" } }, "a" },
    }, node = true },
    { "proxy: [paths] + [headers]", {
        { id = "a", headers = { version = { "v1", "v2" } }, paths = { "/root" } },
        { id = "b", headers = { version = { "v1", "v2" } }, paths = { "/root/fixture" } },
        { id = "c", headers = { version = { "v1", "v2" }, location = { "us-east" } },
          paths = { "/root" } },
    }, {
        { { path = "/root/fixture/get", headers = { version = "v2", location = "us-east" } }, "c",
          upstream_path = "/fixture/get" },
        { { path = "/root/fixture/get", headers = { version = "v2" } }, "b",
          upstream_path = "/get" },
    }, node = true },
    { "proxy: [paths] + [methods] + [hosts]", METHODS_PATHS, add({
        { { path = "/rest/devportal", host = "atest-api.local" }, "r09", flavors = TRAD,
          upstream_path = "/status/209" },
        { { path = "/root/fixture/get", host = "ahost.test" }, "r02", flavors = TRAD,
          upstream_path = "/status/202" },
        { { path = "/root/fixture/get", host = "anotherhost.test" }, "r03",
          upstream_path = "/status/203" },
        { { path = "/", host = "ahost.test" }, false },
    }, REGRESSION_5438), node = true },
    { "proxy: [paths] + [hosts] longer uri", {
        { id = "a", hosts = { "route.com" },
          paths = { "/root/fixture", "/root/fixture/non-matching-but-longer" } },
        { id = "b", hosts = { "route.com" }, paths = { "/root/fixture/get" } },
    }, {
        { { path = "/root/fixture/get", host = "route.com" }, "b", flavors = TRAD },
    }, node = true },
    { "proxy: rebuilds with regex_priority unset", {
        { id = "a", methods = { "GET" }, regex_priority = 1 },
        { id = "b", methods = { "POST", "PUT" } },
    }, {
        { { path = "/" }, "a" },
    }, node = true },
}
