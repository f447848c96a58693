-- Shared by the test_schema_* suites: deep equality with readable failures
-- and a shorthand for building schemas.
local Schema = require("kong.db.schema")
local encode = require("kongpy.schema.encode").encode
local deep_equal = require("kongpy.schema.util").deep_equal

local _M = {}

function _M.same(got, want, what)
    if not deep_equal(got, want) then
        error(("%s: expected %s, got %s"):format(what or "value", tostring(encode(want)),
                                                 tostring(encode(got))), 2)
    end
end

function _M.schema(fields, extra)
    local def = { name = extra and extra.name, fields = fields }
    for k, v in pairs(extra or {}) do
        def[k] = v
    end
    return assert(Schema.new(def))
end

-- A schema with one field `f`; returns the error for { f = value } or true.
function _M.check(field, value)
    local s = assert(Schema.new({ fields = { { f = field } } }))
    local ok, errs = s:validate({ f = value })
    if ok then
        return true
    end
    return errs.f, errs
end

-- A suite's case list and the function adding { name, fn } to it.
function _M.suite()
    local cases = {}
    return cases, function(name, fn)
        cases[#cases + 1] = { name, fn }
    end
end

function _M.json(v)
    return encode(v)
end

return _M
