-- Kong 3.9's path-handling matrix (spec/fixtures/router_path_handling_tests.lua)
-- as routing facts: service path, route path (none: the route matches on its
-- host), strip_path, path_handling, request path and the path the upstream
-- sees. A list in the strip or handling column stands for each of its values.
-- Kong runs the v1 rows only in the traditional flavour (the compatible
-- flavour ignores path_handling = v1). Each row becomes one route with a host
-- of its own, once with the route path as a prefix and once as a regex.
local ROWS = {
    { "/", "/", { false, true }, { "v0", "v1" }, "/", "/" },
    { "/", "/", { false, true }, { "v0", "v1" }, "/route", "/route" },
    { "/", "/", { false, true }, { "v0", "v1" }, "/route/", "/route/" },
    { "/", "/", { false, true }, { "v0", "v1" }, "/routereq", "/routereq" },
    { "/", "/", { false, true }, { "v0", "v1" }, "/route/req", "/route/req" },
    { "/", "/route", false, { "v0", "v1" }, "/route", "/route" },
    { "/", "/route", false, { "v0", "v1" }, "/route/", "/route/" },
    { "/", "/route", false, { "v0", "v1" }, "/routereq", "/routereq" },
    { "/", "/route", true, { "v0", "v1" }, "/route", "/" },
    { "/", "/route", true, { "v0", "v1" }, "/route/", "/" },
    { "/", "/route", true, { "v0", "v1" }, "/routereq", "/req" },
    { "/", "/route/", false, { "v0", "v1" }, "/route/", "/route/" },
    { "/", "/route/", false, { "v0", "v1" }, "/route/req", "/route/req" },
    { "/", "/route/", true, { "v0", "v1" }, "/route/", "/" },
    { "/", "/route/", true, { "v0", "v1" }, "/route/req", "/req" },
    { "/srv", "/rou", false, "v0", "/roureq", "/srv/roureq" },
    { "/srv", "/rou", false, "v1", "/roureq", "/srvroureq" },
    { "/srv", "/rou", true, "v0", "/roureq", "/srv/req" },
    { "/srv", "/rou", true, "v1", "/roureq", "/srvreq" },
    { "/srv/", "/rou", false, { "v0", "v1" }, "/rou", "/srv/rou" },
    { "/srv/", "/rou", true, "v0", "/rou", "/srv" },
    { "/srv/", "/rou", true, "v1", "/rou", "/srv/" },
    { "/service", "/", { false, true }, { "v0", "v1" }, "/", "/service" },
    { "/service", "/", { false, true }, "v0", "/route", "/service/route" },
    { "/service", "/", { false, true }, "v1", "/route", "/serviceroute" },
    { "/service", "/", { false, true }, "v0", "/route/", "/service/route/" },
    { "/service", "/", { false, true }, "v1", "/route/", "/serviceroute/" },
    { "/service", "/", { false, true }, "v0", "/routereq", "/service/routereq" },
    { "/service", "/", { false, true }, "v1", "/routereq", "/serviceroutereq" },
    { "/service", "/", { false, true }, "v0", "/route/req", "/service/route/req" },
    { "/service", "/", { false, true }, "v1", "/route/req", "/serviceroute/req" },
    { "/service", "/route", false, "v0", "/route", "/service/route" },
    { "/service", "/route", false, "v1", "/route", "/serviceroute" },
    { "/service", "/route", false, "v0", "/route/", "/service/route/" },
    { "/service", "/route", false, "v1", "/route/", "/serviceroute/" },
    { "/service", "/route", false, "v0", "/routereq", "/service/routereq" },
    { "/service", "/route", false, "v1", "/routereq", "/serviceroutereq" },
    { "/service", "/route", true, { "v0", "v1" }, "/route", "/service" },
    { "/service", "/route", true, { "v0", "v1" }, "/route/", "/service/" },
    { "/service", "/route", true, "v0", "/routereq", "/service/req" },
    { "/service", "/route", true, "v1", "/routereq", "/servicereq" },
    { "/service", "/route/", false, "v0", "/route/", "/service/route/" },
    { "/service", "/route/", false, "v1", "/route/", "/serviceroute/" },
    { "/service", "/route/", false, "v0", "/route/req", "/service/route/req" },
    { "/service", "/route/", false, "v1", "/route/req", "/serviceroute/req" },
    { "/service", "/route/", true, "v0", "/route/", "/service/" },
    { "/service", "/route/", true, "v1", "/route/", "/service" },
    { "/service", "/route/", true, "v0", "/route/req", "/service/req" },
    { "/service", "/route/", true, "v1", "/route/req", "/servicereq" },
    { "/service/", "/", { false, true }, { "v0", "v1" }, "/route/", "/service/route/" },
    { "/service/", "/", { false, true }, { "v0", "v1" }, "/", "/service/" },
    { "/service/", "/", { false, true }, { "v0", "v1" }, "/route", "/service/route" },
    { "/service/", "/", { false, true }, { "v0", "v1" }, "/routereq", "/service/routereq" },
    { "/service/", "/", { false, true }, { "v0", "v1" }, "/route/req", "/service/route/req" },
    { "/service/", "/route", false, { "v0", "v1" }, "/route", "/service/route" },
    { "/service/", "/route", false, { "v0", "v1" }, "/route/", "/service/route/" },
    { "/service/", "/route", false, { "v0", "v1" }, "/routereq", "/service/routereq" },
    { "/service/", "/route", true, "v0", "/route", "/service" },
    { "/service/", "/route", true, "v1", "/route", "/service/" },
    { "/service/", "/route", true, { "v0", "v1" }, "/route/", "/service/" },
    { "/service/", "/route", true, { "v0", "v1" }, "/routereq", "/service/req" },
    { "/service/", "/route/", false, { "v0", "v1" }, "/route/", "/service/route/" },
    { "/service/", "/route/", false, { "v0", "v1" }, "/route/req", "/service/route/req" },
    { "/service/", "/route/", true, { "v0", "v1" }, "/route/", "/service/" },
    { "/service/", "/route/", true, { "v0", "v1" }, "/route/req", "/service/req" },
    { "/", false, { false, true }, { "v0", "v1" }, "/", "/" },
    { "/", false, { false, true }, { "v0", "v1" }, "/route", "/route" },
    { "/", false, { false, true }, { "v0", "v1" }, "/route/", "/route/" },
    { "/service", false, { false, true }, { "v0", "v1" }, "/", "/service" },
    { "/service", false, { false, true }, "v0", "/route", "/service/route" },
    { "/service", false, { false, true }, "v1", "/route", "/serviceroute" },
    { "/service", false, { false, true }, "v0", "/route/", "/service/route/" },
    { "/service", false, { false, true }, "v1", "/route/", "/serviceroute/" },
    { "/service/", false, { false, true }, { "v0", "v1" }, "/", "/service/" },
    { "/service/", false, { false, true }, { "v0", "v1" }, "/route", "/service/route" },
    { "/service/", false, { false, true }, { "v0", "v1" }, "/route/", "/service/route/" },
}

local function each(v)
    return type(v) == "table" and v or { v }
end

-- regex: the route path as `~/[0]?rest`, which matches the same requests
local function scenario(name, regex)
    local routes, requests = {}, {}
    for i, row in ipairs(ROWS) do
        local service_path, route_path, request, expected = row[1], row[2], row[5], row[6]
        if route_path or not regex then
            local j = 0
            for _, strip in ipairs(each(row[3])) do
                for _, handling in ipairs(each(row[4])) do
                    j = j + 1
                    local id = ("%d-%d"):format(i, j)
                    local host = "localbin-" .. id .. ".test"
                    local path = route_path
                    if path and regex then
                        path = "~/[0]?" .. path:sub(2)
                    end
                    routes[#routes + 1] = { id = id, hosts = { host },
                        paths = path and { path } or nil, strip_path = strip,
                        path_handling = handling, service_path = service_path }
                    requests[#requests + 1] = { { path = request, host = host }, id,
                        upstream_path = expected,
                        flavors = handling == "v1" and { "traditional" } or nil }
                end
            end
        end
    end
    return { name, routes, requests, node = true }
end

return {
    scenario("slash handling (plain)", false),
    scenario("slash handling (regex)", true),
}
