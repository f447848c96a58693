-- Kong 3.9's router scenarios as data: its router unit table
-- (spec/01-unit/08-router_spec.lua) and its proxy router scenarios
-- (spec/02-integration/05-proxy/02-router_spec.lua), restated as facts.
-- Each scenario: routes (id + Kong route fields; `service_path` sets the
-- route's service path, default "/"), requests {method, path, host (the Host
-- header, port included when sent), headers, sni, scheme} and what Kong
-- selects: `route` (an id, or false for no match) and, where Kong checks it,
-- `upstream_path` (a string, or flavour -> string) and `prefix`
-- (X-Forwarded-Prefix; false: none). `flavors` limits a scenario or a
-- request to the flavours Kong runs it in (default: all). More of Kong's
-- scenarios: kong_router_unit_cases.lua, kong_router_proxy_cases.lua,
-- kong_router_path_cases.lua (HTTP) and kong_router_stream_cases.lua.
-- tests/lua/test_kong_router.lua runs them; tests/integration/
-- test_kong_router_node.py runs the HTTP scenarios marked `node` through a
-- node.
local TRAD = { "traditional" }

local USE_CASE = require("kong_router_use_case")

local UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"

return {
    { "select(): the unit use case", USE_CASE, {
        { { path = "/", host = "domain-1.org" }, "r01" },
        { { path = "/", host = "domain-1.org:80" }, "r01" },
        { { path = "/", host = "domain-1.org:123" }, "r01", flavors = TRAD },
        { { path = "/", host = "domain-1.org:321" }, "r13" },
        { { path = "/", host = "domain-3.org:321" }, "r14" },
        { { path = "/", host = "domain-3.org:123" }, false },
        { { path = "/my-route", host = "domain.org" }, "r03" },
        { { path = "/my-route-uri", host = "" }, "r03" },
        { { method = "TRACE", path = "/", host = "domain.org" }, "r02" },
        { { path = "/route-4", host = "domain-1.org" }, "r04" },
        { { method = "POST", path = "/", host = "domain-1.org" }, "r05" },
        { { method = "PUT", path = "/route-6", host = "domain.org" }, "r06" },
        { { method = "PUT", path = "/my-route-uri", host = "domain-with-uri-2.org" }, "r07" },
        { { path = "/", headers = { location = "my-location-1" } }, "r09" },
        { { path = "/", headers = { location = "my-location-2" } }, "r09" },
        { { path = "/", headers = { location = { "my-location-3", "my-location-2" } } }, "r09" },
        { { path = "/", headers = { location = "my-location-3" } }, false },
        { { path = "/", headers = { location = { "my-location-3", "foo" } } }, false },
        { { path = "/", headers = { user_agent = UA } }, "r15" },
        { { path = "/", headers = { location = "my-location-1", version = "v1" } }, "r10" },
        { { path = "/", headers = { location = "my-location-1", version = "v2" } }, "r10" },
        { { path = "/", headers = { location = { "my-location-3", "my-location-1" },
                                    version = "v2" } }, "r10" },
        { { path = "/", headers = { location = { "my-location-3", "my-location-2" },
                                    version = "v2" } }, "r09" },
        { { path = "/headers-uri", headers = { location = "my-location-2" } }, "r11" },
        { { method = "PUT", path = "/headers-host-uri-method", host = "domain-with-headers-1.org",
            headers = { location = "my-location-2" } }, "r12" },
        { { path = "/serviceless" }, "r08" },
        { { path = "/my-route/some/path", host = "domain.org" }, "r03" },
    }, node = true },
    { "a longer [uri] is not superseded", {
        { id = "a", paths = { "/my-route/hello" } },
        { id = "b", paths = { "/my-route" } },
    }, {
        { { path = "/my-route/hello" }, "a" },
        { { path = "/my-route/hello/world" }, "a" },
        { { path = "/my-route" }, "b" },
        { { path = "/my-route/world" }, "b" },
    }, node = true },
    { "a longer [uri] with [methods]", {
        { id = "a", methods = { "POST", "PUT", "GET" }, paths = { "/my-route" } },
        { id = "b", methods = { "POST", "PUT", "GET" }, paths = { "/my-route/hello" } },
    }, {
        { { path = "/my-route/hello" }, "b" },
        { { path = "/my-route/hello/world" }, "b" },
        { { path = "/my-route" }, "a" },
        { { path = "/my-route/world" }, "a" },
    } },
    { "a longer [uri] with [hosts]", {
        { id = "a", hosts = { "domain.org" }, paths = { "/my-route" } },
        { id = "b", hosts = { "domain.org" }, paths = { "/my-route/hello" } },
    }, {
        { { path = "/my-route/hello", host = "domain.org" }, "b" },
        { { path = "/my-route/hello/world", host = "domain.org" }, "b" },
        { { path = "/my-route", host = "domain.org" }, "a" },
        { { path = "/my-route/world", host = "domain.org" }, "a" },
    } },
    { "a better [uri] for another [host]", {
        { id = "a", hosts = { "example.com" }, paths = { "/my-route" } },
        { id = "b", hosts = { "example.com" }, paths = { "/my-route/hello" } },
        { id = "c", hosts = { "example.net" }, paths = { "/my-route/hello/world" } },
    }, {
        { { path = "/my-route/hello/world", host = "example.com" }, "b" },
        { { path = "/my-route/hello/world/and/goodnight", host = "example.com" }, "b" },
    } },
    { "[uri prefix] is anchored", {
        { id = "a", paths = { "/something/my-route" } },
        { id = "b", hosts = { "example.com" }, paths = { "/my-route" } },
    }, {
        { { path = "/something/my-route", host = "example.com" }, "a" },
    } },
    { "[uri regex]", {
        { id = "a", paths = { "~/users/\\d+/profile" } },
    }, {
        { { path = "/users/123/profile" }, "a" },
    } },
    { "several [uri regex]", {
        { id = "a", paths = { "~/route/persons/\\d{3}" } },
        { id = "b", paths = { "~/route/persons/\\d{3}/following" } },
        { id = "c", paths = { "~/route/persons/\\d{3}/[a-z]+" } },
    }, {
        { { path = "/route/persons/456" }, "a" },
    } },
    { "[uri regex] over a [prefix uri] match", {
        { id = "a", paths = { "/route/persons" } },
        { id = "b", paths = { "~/route/persons/\\d+/profile" } },
    }, {
        { { path = "/route/persons/123/profile" }, "b" },
    }, node = true },
    { "[uri regex] over an exact [uri] match", {
        { id = "a", paths = { "/route/fixture" } },
        { id = "b", paths = { "~/route/(fixture)" } },
    }, {
        { { path = "/route/fixture" }, "b" },
    } },
    { "[uri regex + host] over a [prefix uri] match", {
        { id = "a", hosts = { "route.com" }, paths = { "/pat" } },
        { id = "b", hosts = { "route.com" }, paths = { "/path" }, methods = { "POST" } },
        { id = "c", hosts = { "route.com" }, paths = { "~/(path)" } },
    }, {
        { { path = "/path", host = "route.com" }, "c" },
    } },
    { "[uri regex] is anchored", {
        { id = "a", paths = { "~/prefix/[0-9]+" } },
    }, {
        { { path = "/prefix/123" }, "a" },
        { { path = "/extra/prefix/123" }, false },
    } },
    { "[wildcard host]", {
        { id = "a", hosts = { "*.route.com" } },
        { id = "b", hosts = { "route.*" } },
    }, {
        { { path = "/", host = "foo.route.com" }, "a" },
        { { path = "/", host = "route.org" }, "b" },
        { { path = "/", host = "route.org:123" }, "b" },
        { { path = "/", host = "foo.route.com:123" }, "a" },
    }, node = true },
    { "[wildcard host] with ports", {
        { id = "a", hosts = { "*.route.com" } },
        { id = "b", hosts = { "route.*" } },
        { id = "c", hosts = { "*.route.net:123" } },
        { id = "d", hosts = { "route.*:123" } },
    }, {
        { { path = "/", host = "foo.route.net:123" }, "c" },
        { { path = "/", host = "foo.route.net:456" }, false },
        { { path = "/", host = "route.org:123" }, "d" },
    } },
    { "[wildcard host] port-specific on the http default port", {
        { id = "a", hosts = { "*.route.com" } },
        { id = "b", hosts = { "route.*" } },
        { id = "c", hosts = { "route.*:80" } },
    }, {
        { { path = "/", host = "route.org:123" }, "b" },
        { { path = "/", host = "route.org:80" }, "c" },
        { { path = "/", host = "route.org" }, "c", flavors = TRAD },
    } },
    { "[wildcard host] port-specific on the https default port", {
        { id = "a", hosts = { "*.route.com" } },
        { id = "b", hosts = { "route.*" } },
        { id = "c", hosts = { "route.*:443" } },
    }, {
        { { path = "/", host = "route.org:123" }, "b" },
        { { path = "/", host = "route.org:443" }, "c" },
        { { path = "/", host = "route.org", scheme = "https" }, "c", flavors = TRAD },
    } },
    { "[wildcard host] below a plain host", {
        { id = "p", hosts = { "plain.route.com" } },
        { id = "a", hosts = { "*.route.com" } },
        { id = "b", hosts = { "route.*" } },
        { id = "q", hosts = { "route.com" } },
    }, {
        { { path = "/", host = "route.com" }, "q" },
        { { path = "/", host = "route.org" }, "b" },
        { { path = "/", host = "plain.route.com" }, "p" },
        { { path = "/", host = "foo.route.com" }, "a" },
    } },
    { "more attribute kinds win; equal counts go by kind", {
        { id = "a", paths = { "/" } },
        { id = "b", paths = { "/" }, methods = { "GET" } },
        { id = "c", paths = { "/x" } },
        { id = "d", methods = { "PUT" } },
        { id = "e", headers = { h = { "v" } } },
    }, {
        { { path = "/y" }, "b" },
        { { method = "POST", path = "/y" }, "a" },
        { { method = "PUT", path = "/x" }, "c" },
        { { method = "PUT", path = "/x", headers = { h = "v" } }, "e" },
    }, node = true },
    { "regex path bit against header count", {
        { id = "a", headers = { h = { "v" } }, paths = { "~/x" } },
        { id = "b", headers = { h = { "v" }, g = { "w" } }, paths = { "/x" } },
    }, {
        { { path = "/x", headers = { h = "v", g = "w" } },
          { traditional = "a", traditional_compatible = "b" } },
        { { path = "/x", headers = { h = "v" } }, "a" },
    }, node = true },
    { "regex_priority", {
        { id = "a", paths = { "~/a" }, regex_priority = 0 },
        { id = "b", paths = { "~/a.*" }, regex_priority = 5 },
        { id = "c", paths = { "~/b" }, regex_priority = -1 },
        { id = "d", paths = { "~/b.*" }, regex_priority = 0 },
        { id = "e", paths = { "/abcdef" }, regex_priority = 10 },
    }, {
        { { path = "/abc" }, "b" },
        { { path = "/bcd" }, "d" },
        { { path = "/abcdef" }, "b" },
    }, node = true },
    { "snis only constrain TLS requests", {
        { id = "a", snis = { "www.example.org" } },
        { id = "b", snis = { "*.foo.test" }, paths = { "/w" } },
    }, {
        { { path = "/", sni = "www.example.org", scheme = "https" }, "a" },
        { { path = "/", sni = "other.org", scheme = "https" }, false },
        -- plain HTTP: the traditional category search finds nothing to start from
        { { path = "/" }, { traditional = false, traditional_compatible = "a" } },
        -- traditional matches SNIs exactly
        { { path = "/w", sni = "x.foo.test", scheme = "https" },
          { traditional = false, traditional_compatible = "b" } },
    } },
    { "strip_path and path_handling v0", {
        { id = "a", paths = { "/r" }, service_path = "/s" },
        { id = "b", paths = { "/n" }, service_path = "/s", strip_path = false },
        { id = "c", paths = { "/t" } },
        { id = "d", paths = { "/u" }, service_path = "/s/" },
    }, {
        { { path = "/r" }, "a", upstream_path = "/s" },
        { { path = "/r/" }, "a", upstream_path = "/s/" },
        { { path = "/r/x" }, "a", upstream_path = "/s/x", prefix = "/r" },
        { { path = "/rx" }, "a", upstream_path = "/s/x" },
        { { path = "/n/x" }, "b", upstream_path = "/s/n/x" },
        { { path = "/t/x" }, "c", upstream_path = "/x" },
        { { path = "/t" }, "c", upstream_path = "/" },
        { { path = "/u" }, "d", upstream_path = "/s" },
        { { path = "/u/" }, "d", upstream_path = "/s/" },
        { { path = "/u/x" }, "d", upstream_path = "/s/x" },
    }, node = true },
    -- the compatible flavour ignores path_handling = v1 (Kong's ATC router
    -- always builds the v0 path; its schema warns "will not work")
    { "path_handling v1", {
        { id = "a", paths = { "/r" }, service_path = "/s", path_handling = "v1" },
        { id = "b", paths = { "/n" }, service_path = "/s", strip_path = false,
          path_handling = "v1" },
        { id = "c", paths = { "/u" }, service_path = "/s/", path_handling = "v1" },
    }, {
        { { path = "/r/x" }, "a", upstream_path = "/s/x" },
        { { path = "/rx" }, "a",
          upstream_path = { traditional = "/sx", traditional_compatible = "/s/x" } },
        { { path = "/r" }, "a", upstream_path = "/s" },
        { { path = "/n/x" }, "b",
          upstream_path = { traditional = "/sn/x", traditional_compatible = "/s/n/x" } },
        { { path = "/u/x" }, "c", upstream_path = "/s/x" },
    }, node = true },
    { "regex strip and captures", {
        { id = "a", paths = { "~/users/(?<id>\\d+)" }, service_path = "/s" },
    }, {
        { { path = "/users/42/x" }, "a", upstream_path = "/s/x", prefix = "/users/42" },
        { { path = "/users/x" }, false },
    } },
    { "normalisation and percent-encoding", {
        { id = "a", paths = { "/my-route" }, service_path = "/s" },
        { id = "b", paths = { "/r" }, service_path = "/s" },
    }, {
        { { path = "/my%2Droute/x" }, "a", upstream_path = "/s/x" },
        { { path = "/x/../my-route/y" }, "a", upstream_path = "/s/y" },
        { { path = "//my-route//y" }, "a", upstream_path = "/s/y" },
        { { path = "/r/a%20b" }, "b", upstream_path = "/s/a%20b" },
        { { path = "/r./x" }, "b", upstream_path = "/s/x" },
        { { path = "/my%2Froute" }, false },
    }, node = true },
    { "preserve_host does not change the match", {
        { id = "a", hosts = { "keep.test" }, preserve_host = true },
    }, {
        { { path = "/", host = "keep.test" }, "a" },
    } },
}
