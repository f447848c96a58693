-- Kong 3.9's router unit table (spec/01-unit/08-router_spec.lua), the part
-- after its first use cases (kong_router_cases.lua holds those): wildcard
-- hosts with ports, headers, edge cases, misses, exec() results (upstream
-- path, prefix, captures), IPv6 host literals and the regex/prefix mixes.
-- Same format as kong_router_cases.lua, plus per request: `raw = true` (the
-- path goes to the matcher as given, as Kong's select() receives it, and no
-- node runs it) and `captures` (the uri captures Kong returns; false: none).
-- Kong's unit routes leave strip_path unset (false); where a case checks the
-- upstream path the route sets strip_path explicitly.
local TRAD = { "traditional" }
local COMPAT = { "traditional_compatible" }

local USE_CASE = require("kong_router_use_case")

-- The use case with more routes around it: `before` first, `after` last.
local function around(before, after, n)
    local out = {}
    for _, r in ipairs(before or {}) do out[#out + 1] = r end
    for i = 1, n or #USE_CASE do out[#out + 1] = USE_CASE[i] end
    for _, r in ipairs(after or {}) do out[#out + 1] = r end
    return out
end

local SAME_CATEGORY = {}
for i = 1, 5 do
    SAME_CATEGORY[i] = { id = "m" .. i, hosts = { "domain.org" }, paths = { "/my-uri" } }
end
SAME_CATEGORY[6] = { id = "target", hosts = { "domain.org" }, paths = { "/my-target-uri" } }

local CAPTURES = "~/users/(?P<user_id>\\d+)/profile/?(?P<scope>[a-z]*)"
local FULLNAME = "~/users/(?P<fullname>[a-zA-Z\\s\\d%]+)/profile/?(?P<scope>[a-z]*)"

return {
    { "[wildcard host + path] over a similar [plain host]", {
        { id = "a", hosts = { "*.route.com" }, paths = { "/path1" } },
        { id = "b", hosts = { "plain.route.com" }, paths = { "/path2" } },
    }, {
        { { path = "/path1", host = "plain.route.com" }, "a" },
        { { path = "/path2", host = "plain.route.com" }, "b" },
    }, node = true },
    { "[wildcard host port] ranks above [wildcard host]", {
        { id = "a", hosts = { "route.*" } },
        { id = "b", hosts = { "route.*:80", "route.com.*" } },
    }, {
        { { path = "/", host = "route.org:80" }, "b" },
    } },
    { "[wildcard host + port] over a matching [wildcard host]", {
        { id = "a", hosts = { "route.*" } },
        { id = "b", hosts = { "route.*:123" } },
        { id = "c", hosts = { "route.*:80" } },
    }, {
        { { path = "/", host = "route.org:123" }, "b" },
        { { path = "/", host = "route.org" }, "c", flavors = TRAD },
    } },
    { "[wildcard/plain host + uri + method]", {
        { id = "a", hosts = { "*.route.com" } },
        { id = "b", hosts = { "route.*" } },
        { id = "c", hosts = { "*.domain.com", "example.com" }, paths = { "/path" },
          methods = { "GET", "TRACE" } },
    }, {
        { { method = "POST", path = "/path", host = "foo.domain.com" }, false },
        { { path = "/path", host = "foo.domain.com" }, "c" },
        { { method = "TRACE", path = "/path", host = "example.com" }, "c" },
    }, node = true },
    { "[wildcard host] + [uri regex]", {
        { id = "a", hosts = { "*.example.com" }, paths = { "~/users/\\d+/profile" } },
        { id = "b", hosts = { "*.example.com" }, paths = { "/users" } },
    }, {
        { { path = "/users/123/profile", host = "test.example.com" }, "a" },
        { { path = "/users", host = "test.example.com" }, "b" },
    }, node = true },
    { "[headers] more headers first", {
        { id = "a", headers = { version = { "v1", "v2" }, user_agent = { "foo", "bar" } } },
        { id = "b", headers = { version = { "v1", "v2" }, user_agent = { "foo", "bar" },
                                location = { "east", "west" } } },
    }, {
        { { path = "/", headers = { version = "v1", user_agent = "foo",
                                    location = { "north", "west" } } }, "b" },
    }, node = true },
    { "[headers] names are case-insensitive", {
        { id = "a", headers = { USER_AGENT = { "foo", "bar" } } },
        { id = "b", headers = { user_agent = { "baz" } } },
    }, {
        { { path = "/", headers = { user_agent = "foo" } }, "a" },
        { { path = "/", headers = { USER_AGENT = "baz" } }, "b" },
    }, node = true },
    { "[headers] values are case-insensitive", {
        { id = "a", headers = { user_agent = { "foo", "bar" } } },
        { id = "b", headers = { user_agent = { "BAZ" } } },
    }, {
        { { path = "/", headers = { user_agent = "FOO" } }, "a" },
        { { path = "/", headers = { user_agent = "baz" } }, "b" },
    }, node = true },
    { "route paths are not normalised (select)", {
        { id = "p", paths = { "/plain/a.b.c" } },
        { id = "q", paths = { "/plain/a.b%58c" } },
        { id = "r", paths = { "~/reg%65x/\\d+" } },
        { id = "s", paths = { "~/regex-meta/%5Cd\\+%2E" } },
        { id = "t", paths = { "~/regex-reserved%2Fabc" } },
    }, {
        { { path = "/plain/a.b.c", host = "example.com" }, "p", raw = true },
        { { path = "/plain/a.bXc", host = "example.com" }, false, raw = true },
        { { path = "/plain/a.b%58c", host = "example.com" }, "q", raw = true },
        { { path = "/plain/aab.c", host = "example.com" }, false, raw = true },
        { { path = "/regex/123", host = "example.com" }, false, raw = true },
        { { path = "/reg%65x/123", host = "example.com" }, "r", raw = true },
        { { path = "/regex/\\d+", host = "example.com" }, false, raw = true },
        { { path = "/regex-meta/123a", host = "example.com" }, false, raw = true },
        { { path = "/regex-meta/\\d+.", host = "example.com" }, false, raw = true },
        { { path = "/regex-meta/%5Cd+%2E", host = "example.com" }, "s", raw = true },
        { { path = "/regex-reserved/abc", host = "example.com" }, false, raw = true },
        { { path = "/regex-reserved%2Fabc", host = "example.com" }, "t", raw = true },
    } },
    { "edge: [host] and [uri] rank above [method]", around(nil, nil, 7), {
        { { method = "TRACE", path = "/", host = "domain-2.org" }, "r01" },
        { { method = "TRACE", path = "/my-route", host = "domain.org" }, "r03" },
    } },
    { "edge: half [uri] and [host] match", {
        { id = "a", hosts = { "host1.com" }, paths = { "/v1/path" } },
        { id = "b", hosts = { "host2.com" }, paths = { "/" } },
    }, {
        { { path = "/v1/path", host = "host1.com" }, "a" },
        { { path = "/v1/path", host = "host2.com" }, "b" },
    }, node = true },
    { "edge: half [wildcard host] and [method] match", {
        { id = "a", hosts = { "host.*" }, methods = { "GET" } },
        { id = "b", hosts = { "host.*" }, methods = { "POST" } },
    }, {
        { { path = "/", host = "host.com" }, "a" },
        { { method = "POST", path = "/", host = "host.com" }, "b" },
    }, node = true },
    { "edge: half [uri regex] and [method] match", {
        { id = "a", methods = { "GET" }, paths = { "~/users/\\d+/profile" } },
        { id = "b", methods = { "POST" }, paths = { "~/users/\\d*/profile" } },
    }, {
        { { path = "/users/123/profile", host = "domain.org" }, "a" },
        { { method = "POST", path = "/users/123/profile", host = "domain.org" }, "b" },
    }, node = true },
    { "edge: [method] below [uri prefix]", {
        { id = "a", methods = { "GET" } },
        { id = "b", paths = { "/example" } },
    }, {
        { { path = "/example", host = "domain.org" }, "b" },
        { { path = "/example/status/200", host = "domain.org" }, "b" },
    }, node = true },
    -- equal priorities in the compatible flavour: Kong's ATC breaks the tie
    -- by route id (its ids sort b above a), so no node runs it with random ids
    { "edge: [method] below [wildcard host]", {
        { id = "a", methods = { "GET" } },
        { id = "b", hosts = { "domain.*" } },
    }, {
        { { path = "/", host = "nothing.com" }, "a" },
        { { path = "/", host = "domain.com" }, "b" },
    } },
    { "edge: a longer [uri prefix] of another route", {
        { id = "a", paths = { "/a", "/bbbbbbb" } },
        { id = "b", paths = { "/a/bb" } },
    }, {
        { { path = "/a/bb/foobar", host = "domain.org" }, "b" },
    }, flavors = TRAD, node = true },
    { "edge: root / [uri]", around({ { id = "r00", paths = { "/" } } }), {
        { { path = "/", host = "domain.org" }, "r00" },
        { { path = "/my-route", host = "domain.org" }, "r03" },
        { { path = "/my-route/hello/world", host = "domain.org" }, "r03" },
        { { path = "/foobar/baz", host = "domain.org" }, "r00" },
    }, node = true },
    { "edge: same category, conflicting values", around(nil, SAME_CATEGORY), {
        { { path = "/my-target-uri", host = "domain.org" }, "target" },
    }, node = true },
    { "edge: more [headers] over a longer [paths]", {
        { id = "a", headers = { version = { "v1" } }, paths = { "/my-route/hello" } },
        { id = "b", headers = { version = { "v1" }, location = { "us-east" } },
          paths = { "/my-route" } },
    }, {
        { { path = "/my-route/hello", host = "domain.org",
            headers = { version = "v1", location = "us-east" } }, "b" },
        { { path = "/my-route/hello/world",
            headers = { version = "v1", location = "us-east" } }, "b" },
    }, node = true },
    { "misses", USE_CASE, {
        { { path = "/", host = "domain-3.org" }, false },
        { { path = "/route-4", host = "domain-3.org" }, false },
        { { path = "/some-uri", host = "domain-with-uri-2.org" }, false },
        { { method = "PUT", path = "/some-uri-foo", host = "domain-with-uri-2.org" }, false },
        { { path = "/some-other-prefix/my-route", host = "domain.org" }, false },
        { { path = "/", headers = { location = "invalid-location" } }, false },
        { { path = "/headers-uri", headers = { location = "invalid-location" } }, false },
        { { method = "PUT", path = "/headers-uri-method",
            headers = { location = "invalid-location" } }, false },
        { { method = "PUT", path = "/headers-host-uri-method",
            headers = { location = "invalid-location" } }, false },
    }, node = true },
    { "exec: upstream uri without strip_path", {
        { id = "a", paths = { "/my-route" }, strip_path = false },
        { id = "b", paths = { "/my-route-2" }, strip_path = false },
    }, {
        { { path = "/my-route", host = "domain.org" }, "a", upstream_path = "/my-route" },
        { { path = "/my-route-2", host = "domain.org" }, "b", upstream_path = "/my-route-2" },
    }, node = true },
    { "exec: matched host, uri, method, headers", {
        { id = "a", hosts = { "host.com" }, methods = { "GET" }, paths = { "/my-route" } },
        { id = "b", hosts = { "host.com" }, paths = { "/my-route" } },
        { id = "c", hosts = { "*.host.com" },
          headers = { location = { "my-location-1", "my-location-2" } } },
        { id = "d", paths = { "~/users/\\d+/profile" } },
    }, {
        { { path = "/my-route", host = "host.com" }, "a" },
        { { path = "/my-route/prefix/match", host = "host.com" }, "a" },
        { { method = "POST", path = "/my-route", host = "host.com" }, "b" },
        { { path = "/", host = "test.host.com", headers = { location = "my-location-1" } },
          "c" },
        { { path = "/users/123/profile", host = "domain.org" }, "d", captures = false },
    }, node = true },
    { "exec: uri captures from a [uri regex]", {
        { id = "a", paths = { CAPTURES } },
    }, {
        { { path = "/users/1984/profile" }, "a", captures = {
            [0] = "/users/1984/profile", "1984", "", user_id = "1984", scope = "" } },
        { { path = "/users/1984/profile/email" }, "a", captures = {
            [0] = "/users/1984/profile/email", "1984", "email", user_id = "1984",
            scope = "email" } },
    } },
    { "exec: uri captures come from the normalised path (Kong #7913)", {
        { id = "b", paths = { FULLNAME } },
    }, {
        { { path = "/users/%6aohn%20doe/profile" }, "b", captures = {
            [0] = "/users/john doe/profile", "john doe", "", fullname = "john doe",
            scope = "" } },
    } },
    { "exec: no captures from a [uri prefix]", {
        { id = "a", paths = { "/hello" }, strip_path = true },
    }, {
        { { path = "/hello/world" }, "a", upstream_path = "/world", captures = false },
    }, node = true },
    { "exec: reserved characters stay encoded", {
        { id = "a", paths = { "/endel%2Fst" }, strip_path = false },
    }, {
        { { path = "/endel%2Fst" }, "a", upstream_path = "/endel%2Fst" },
    }, node = true },
    { "exec: stripped paths", {
        { id = "a", paths = { "/my-route", "/xx-route" }, strip_path = true },
        { id = "b", methods = { "POST" }, paths = { "/my-route", "/xx-route" },
          strip_path = false },
    }, {
        { { path = "/my-route/hello/world" }, "a", prefix = "/my-route",
          upstream_path = "/hello/world" },
        { { path = "/my-route" }, "a", prefix = "/my-route", upstream_path = "/" },
        { { method = "POST", path = "/my-route/hello/world" }, "b", prefix = false,
          upstream_path = "/my-route/hello/world" },
        { { path = "/xx-route" }, "a", prefix = "/xx-route", upstream_path = "/" },
        { { path = "/my-route" }, "a", prefix = "/my-route", upstream_path = "/" },
    }, node = true },
    { "exec: root / is not stripped", {
        { id = "a", paths = { "/" }, strip_path = true },
    }, {
        { { method = "POST", path = "/my-route/hello/world" }, "a",
          upstream_path = "/my-route/hello/world" },
    }, node = true },
    { "exec: strips url encoded paths", {
        { id = "a", paths = { "/endel%2Fst" }, strip_path = true },
    }, {
        { { path = "/endel%2Fst" }, "a", prefix = "/endel%2Fst", upstream_path = "/" },
    }, node = true },
    { "exec: strips a [uri regex]", {
        { id = "a", paths = { "~/users/\\d+/profile" }, strip_path = true },
        { id = "b", paths = { "~/groups/(\\d+)/profile" }, strip_path = true },
    }, {
        { { path = "/users/123/profile/hello/world" }, "a", prefix = "/users/123/profile",
          upstream_path = "/hello/world" },
        { { path = "/groups/123/profile/hello/world" }, "b", prefix = "/groups/123/profile",
          upstream_path = "/hello/world" },
    }, node = true },
    { "exec: preserve_host routes", {
        { id = "a", preserve_host = true, hosts = { "preserve.com" } },
        { id = "b", preserve_host = false, hosts = { "discard.com" } },
        { id = "c", preserve_host = true, paths = { "/nohost" } },
    }, {
        { { path = "/", host = "preserve.com" }, "a" },
        { { path = "/", host = "preserve.com:123" }, "a" },
        { { path = "/", host = "discard.com" }, "b" },
        { { path = "/nohost", host = "domain1.com" }, "c" },
        { { path = "/nohost", host = "domain2.com" }, "c" },
    }, node = true },
    { "exec: special characters", {
        { id = "a", paths = { "/\\d" }, strip_path = false },
        { id = "b", paths = { "~/\\d+\"" }, strip_path = false },
    }, {
        { { path = "/\\d", host = "domain.org" }, "a" },
        { { path = "/123\"", host = "domain.org" }, "b" },
    } },
    { "exec: an invalid utf-8 path matches nothing", {
        { id = "a", paths = { "/hello" } },
    }, {
        { { path = "\252\128\128\128\128\175", host = "example.org" }, false, raw = true },
    }, flavors = COMPAT },
    { "[IPv6 literal host]", {
        { id = "a", hosts = { "::11", "[::12]" } },
        { id = "b", hosts = { "::21", "[::22]" } },
        { id = "c", hosts = { "[::31]:321", "[::32]:321" } },
        { id = "d", hosts = { "[::21]:321", "[::22]:321" } },
    }, {
        { { path = "/", host = "::11" }, "a" },
        { { path = "/", host = "[::11]" }, "a" },
        { { path = "/", host = "[::11]:654" }, "a" },
        { { path = "/", host = "[::21]:321" }, "d" },
        { { path = "/", host = "[::31]:321" }, "c" },
        { { path = "/", host = "[::21]:654" }, "b" },
        { { path = "/", host = "[::31]:654" }, false },
    }, flavors = TRAD },
    { "[snis] ignored over http without shadowing http routes (Kong #6425)", {
        { id = "a", snis = { "www.example.org" } },
        { id = "b", hosts = { "sni.example.com" }, protocols = { "http", "https" },
          snis = { "sni.example.com" } },
        { id = "c", hosts = { "sni.example.com" }, protocols = { "http" } },
    }, {
        { { path = "/", host = "sni.example.com" }, "c" },
    }, flavors = TRAD },
    { "[snis] ignored over http: the only route", {
        { id = "a", hosts = { "sni.example.com" }, protocols = { "http", "https" },
          snis = { "sni.example.com" } },
    }, {
        { { path = "/", host = "sni.example.com" }, "a" },
    }, flavors = TRAD },
    { "prefix paths ignore regex_priority", {
        { id = "a", paths = { "/.*" }, hosts = { "domain-1.org" } },
        { id = "b", paths = { "/" }, hosts = { "domain-2.org" }, regex_priority = 5 },
        { id = "c", paths = { "/v1" }, hosts = { "domain-2.org" } },
    }, {
        { { path = "/v1", host = "domain-2.org" }, "c" },
    }, node = true },
    { "regex and prefix paths of one route rank apart", {
        { id = "a", paths = { "~/some/thing/else", "/foo" }, hosts = { "domain-1.org" } },
        { id = "b", paths = { "/foo/bar" }, hosts = { "domain-1.org" } },
    }, {
        { { path = "/some/thing/else", host = "domain-1.org" }, "a" },
        { { path = "/foo/bar", host = "domain-1.org" }, "b" },
    }, node = true },
    { "overlapping prefixes rank per path", {
        { id = "a", paths = { "/foo", "/foo/bar/baz" }, hosts = { "domain-1.org" } },
        { id = "b", paths = { "/foo/bar" }, hosts = { "domain-1.org" } },
    }, {
        { { path = "/foo", host = "domain-1.org" }, "a" },
        { { path = "/foo/bar", host = "domain-1.org" }, "b" },
        { { path = "/foo/bar/baz", host = "domain-1.org" }, "a" },
    }, node = true },
    { "several paths and no service", {
        { id = "a", paths = { "/foo", "/foo/bar/baz" }, serviceless = true },
    }, {
        { { path = "/foo/bar/baz" }, "a" },
    }, node = true },
    { "header values match case-insensitively (cache keys do not fold)", {
        { id = "a", paths = { "/foo" }, headers = { test1 = { "Quote" } } },
    }, {
        { { path = "/foo", headers = { test1 = "QUOTE" } }, "a" },
        { { path = "/foo", headers = { test1 = "QuoTe" } }, "a" },
    }, flavors = COMPAT, node = true },
    { "a cached host match keeps each request's path", {
        { id = "a", hosts = { "example.com" }, preserve_host = true },
    }, {
        { { path = "/foo", host = "example.com" }, "a", upstream_path = "/foo" },
        { { path = "/bar", host = "example.com" }, "a", upstream_path = "/bar" },
    }, flavors = COMPAT, node = true },
}
