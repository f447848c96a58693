-- Pieces of the transformation plugins that need no request: Penlight's
-- template compilation as request-transformer uses it (constants stay
-- strings, Kong's compile errors), JSON bodies whose empty arrays stay
-- arrays, and gzip both ways.
local template = require("kong.plugins.request-transformer.template")
local json = require("kongpy.tools.json")
local gzip = require("kong.tools.gzip")
local eq = require("runner").eq

local cases = {}
local function case(name, fn)
    cases[#cases + 1] = { name, fn }
end

case("text without an expression compiles to itself", function()
    for _, text in ipairs({ "plain", "#hash", "a\nb", "$(unclosed", "100%", "\"q\"" }) do
        eq(template.compile(text), text)
    end
end)

case("expressions render in the given environment, nil as empty", function()
    local tpl = template.compile("a=$(x) b=$(y or 'none') c=$(z)")
    eq(type(tpl), "table")
    eq(template.render(tpl, { x = "1", z = false }), "a=1 b=none c=")
    eq(template.render(template.compile("$('$(x)')"), {}), "$(x)")
end)

case("a template that does not compile gives Kong's message", function()
    local tpl, err = template.compile("$(a b)")
    eq(tpl, nil)
    eq(err, [[[string "TMP"]:1: ')' expected near 'b']])
    local _, err2 = template.compile("x\n$(1 +)")
    eq(err2, [[[string "TMP"]:2: unexpected symbol near ')']])
end)

case("a render error names the template", function()
    local tpl = template.compile("$(h.x.y)")
    local ok, err = pcall(template.render, tpl, { h = {} })
    eq(ok, false)
    eq(err:find("[request-transformer] failed to render the template $(h.x.y), error:", 1,
                true), 1)
end)

case("JSON empty arrays stay arrays, strings untouched", function()
    local doc = json.decode('{"a": [], "b": {"c": [ ]}, "d": "[]", "e": {}, "f": [1]}')
    doc.g = 1
    local back = json.decode(json.encode(doc))
    eq(json.encode(back), json.encode(doc))
    local text = json.encode(doc)
    eq(text:find('"a":[]', 1, true) ~= nil, true, text)
    eq(text:find('"c":[]', 1, true) ~= nil, true, text)
    eq(text:find('"d":"[]"', 1, true) ~= nil, true, text)
    eq(text:find('"e":{}', 1, true) ~= nil, true, text)
    eq(json.encode(json.decode("[]")), "[]")
    eq(json.decode("{bad"), nil)
    eq(json.is_array(' [1]'), true)
    eq(json.is_array('{"a": [1]}'), false)
end)

case("gzip both ways, several members, bad input refused", function()
    local text = string.rep("kongpy ", 10000)
    local packed = assert(gzip.deflate_gzip(text))
    eq(packed:sub(1, 2), "\31\139")
    eq(#packed < #text, true)
    eq(gzip.inflate_gzip(packed), text)
    eq(gzip.inflate_gzip(packed .. assert(gzip.deflate_gzip("!"))), text .. "!")
    local bad, err = gzip.inflate_gzip("\31\139not gzip")
    eq(bad, nil)
    eq(type(err), "string")
end)

return cases
