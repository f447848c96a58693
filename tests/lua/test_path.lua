-- Path normalisation and the upstream URI table (kong-reference 3.2, 3.4).
local path = require("kongpy.path")
local eq = require("runner").eq

local cases = {}

local NORMALIZE = {
    { "/", "/" },
    { "/foo/bar", "/foo/bar" },
    { "/foo//bar", "/foo/bar" },
    { "//foo///bar//", "/foo/bar/" },
    { "/foo/./bar", "/foo/bar" },
    { "/foo/../bar", "/bar" },
    { "/foo/bar/..", "/foo/" },
    { "/foo/bar/.", "/foo/bar/" },
    { "/../foo", "/foo" },
    { "/foo/%2e%2e/bar", "/bar" },
    { "/foo/%2E/bar", "/foo/bar" },
    { "/%66oo", "/foo" },
    { "/foo%20bar", "/foo bar" },
    { "/a%2fb", "/a%2Fb" },
    { "/a%3Ab%3f", "/a%3Ab%3F" },
    { "/%7euser", "/~user" },
    { "/a%25b", "/a%25b" },
    { "/a%2541", "/a%2541" },
}
for _, c in ipairs(NORMALIZE) do
    cases[#cases + 1] = { "normalize " .. c[1], function()
        eq(path.normalize(c[1]), c[2], c[1])
    end }
end

cases[#cases + 1] = { "escape re-encodes decoded characters", function()
    eq(path.escape("/foo bar"), "/foo%20bar")
    eq(path.escape("/a%2Fb/~x"), "/a%2Fb/~x")
    eq(path.escape("/caf\195\169"), "/caf%C3%A9")
end }

-- { handling, service path, strip_path, matched prefix, request path, expected }
local UPSTREAM = {
    -- v0, base ends with "/", strip
    { "v0", "/", true, "/r", "/r", "/" },
    { "v0", "/", true, "/r", "/r/", "/" },
    { "v0", "/", true, "/r", "/r/x", "/x" },
    { "v0", "/", true, "/r", "/rx", "/x" },
    { "v0", "/s/", true, "/r", "/r", "/s" },
    { "v0", "/s/", true, "/r", "/r/", "/s/" },
    { "v0", "/s/", true, "/r", "/r/x", "/s/x" },
    { "v0", "/s/", true, "/r", "/rx", "/s/x" },
    { "v0", "/s/", true, "/r/", "/r/", "/s/" },
    -- v0, base ends with "/", no strip
    { "v0", "/", false, "/r", "/r/x", "/r/x" },
    { "v0", "/s/", false, "/r", "/r/x", "/s/r/x" },
    { "v0", "/s/", false, "/r", "/", "/s/" },
    -- v0, base without trailing "/", strip
    { "v0", "/s", true, "/r", "/r", "/s" },
    { "v0", "/s", true, "/r", "/r/", "/s/" },
    { "v0", "/s", true, "/r", "/r/x", "/s/x" },
    { "v0", "/s", true, "/r", "/rx", "/s/x" },
    { "v0", "/s", true, "/r/", "/r/", "/s/" },
    { "v0", "/s", true, "/", "/", "/s" },
    -- v0, base without trailing "/", no strip
    { "v0", "/s", false, "/r", "/r/x", "/s/r/x" },
    { "v0", "/s", false, "/r", "/r", "/s/r" },
    { "v0", "/s", false, "/", "/", "/s" },
    -- strip_path leaving a dot segment (`/r./x`, `/r../x`, also %2E forms once
    -- normalised): dropped, as Kong's router does
    { "v0", "/s", true, "/r", "/r./x", "/s/x" },
    { "v0", "/s", true, "/r", "/r../x", "/s/x" },
    { "v0", "/s", true, "/r", "/r.", "/s" },
    { "v0", "/s", true, "/r", "/r..", "/s" },
    { "v0", "/s", true, "/r", "/r.x", "/s/.x" },
    { "v0", "/s", true, "/r", "/r.../x", "/s/.../x" },
    { "v0", "/s/", true, "/r", "/r./x", "/s/x" },
    { "v0", "/s/", true, "/r", "/r../x", "/s/x" },
    { "v0", "/", true, "/r", "/r./x", "/x" },
    { "v0", "/", true, "/r", "/r../x", "/x" },
    { "v0", "/s", false, "/r", "/r./x", "/s/r./x" },
    -- v1
    { "v1", "/s", true, "/r", "/r/x", "/s/x" },
    { "v1", "/s", true, "/r", "/rx", "/sx" },
    { "v1", "/s/", true, "/r", "/r/x", "/s/x" },
    { "v1", "/s/", true, "/r", "/rx", "/s/x" },
    { "v1", "/s", true, "/r", "/r", "/s" },
    { "v1", "/", true, "/r", "/r", "/" },
    { "v1", "/", true, "/r", "/r/x", "/x" },
    { "v1", "/s", false, "/r", "/r/x", "/sr/x" },
    { "v1", "/s/", false, "/r", "/r/x", "/s/r/x" },
    { "v1", "/", false, "/r", "/r/x", "/r/x" },
}
for _, c in ipairs(UPSTREAM) do
    local name = ("upstream %s base=%s strip=%s prefix=%s req=%s"):format(
        c[1], c[2], tostring(c[3]), c[4], c[5])
    cases[#cases + 1] = { name, function()
        eq(path.upstream_path(c[1], c[2], c[3], c[4], c[5]), c[6], name)
    end }
end

return cases
