-- The control plane's Lua helper: a private nginx process (no master, one
-- unix socket, no listener anyone else reaches) that loads the node's
-- plugins as the data plane would and answers what the Python side cannot
-- work out by itself. Kong's plugin contract is Lua (handler.lua,
-- schema.lua, daos.lua, migrations/, api.lua): their facts, their schemas in
-- Kong's JSON form, and validations with Kong's schema language (validator
-- and transformation functions of a plugin run here) come from this process.
--
--   GET  /facts                  plugins: facts by name; errors: by name
--   POST /validate  {schema, value}          200 {value} | 400 {fields}
--   POST /validate_many {schema, value: [..]} 200 {results: [{value} | {fields} | {message}]}
--   POST /transform {schema, value, input}   200 {value} | 400 {message}
--   POST /rehash {schema, value: {old, new}} 200 {accepts}
--
-- `schema` is "plugins" or the name of an entity a plugin's daos.lua owns.
local ffi = require("ffi")
local cjson = require("cjson.safe")
local encode = require("kongpy.schema.encode")
local util = require("kongpy.schema.util")
local loader = require("kongpy.helper.loader")
local request = require("kongpy.pdk.request")
local deprecation = require("kongpy.schema.deprecation")

local ngx = ngx
local null = ngx.null
local var = ngx.var
local say = ngx.print
local exit = ngx.exit
local header = ngx.header

local type = type
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local tostring = tostring
local setmetatable = setmetatable

local ERR_BODY = "expected a JSON object with 'schema' and 'value'"
local ERR_SCHEMA = "unknown schema: "
local ERR_NOT_FOUND = "Not found"

local _M = {}

local plugins_schema
local facts, errors = {}, {}
local entities = {}     -- name -> schema of an entity a plugin owns
local facts_body        -- the encoded answer of GET /facts, made once

local function respond(status, body)
    -- Kong logs a deprecated field's warning in the node's error log; the
    -- control plane logs what a validation here raised
    body.warnings = deprecation.take()
    ngx.status = status
    header["Content-Type"] = "application/json"
    say(encode.encode(body))
    return exit(status)
end

local function field_eq_null(schema, name)
    local field = schema.fields[name]
    return type(field) == "table" and field.eq == null
end

local function plugin_facts(name, f)
    local sub = plugins_schema.subschemas[name]
    local protocols = sub.fields.protocols
    local out = {
        priority = f.priority, version = f.version, phases = f.phases,
        handler_file = f.file, schema_file = f.schema_file, daos_file = f.daos_file or null,
        schema = sub:to_json(),
        no_consumer = field_eq_null(sub, "consumer"),
        no_route = field_eq_null(sub, "route"),
        no_service = field_eq_null(sub, "service"),
        protocols = protocols and protocols.default or null,
        migrations = f.migrations, api = f.api,
        entities = setmetatable({}, util.array_mt),
    }
    for _, schema in ipairs(f.daos) do
        entities[schema.name] = schema
        local rehash = type(schema.rehash) == "table" and schema.rehash or nil
        out.entities[#out.entities + 1] = {
            describe = schema:describe(),
            schema = schema:to_json(),
            has_transformations = schema.transformations ~= nil,
            rehash_field = rehash and rehash.field or null,
        }
    end
    return out
end

function _M.init(names)
    deprecation.collect()
    local loaded
    plugins_schema, loaded, errors = loader.load(names)
    for name, f in pairs(loaded) do
        local ok, res = pcall(plugin_facts, name, f)
        if ok then
            facts[name] = res
        else
            errors[name] = "cannot describe the plugin: " .. tostring(res)
        end
    end
    facts_body = encode.encode({ plugins = facts, errors = errors })
end

local function schema_of(name)
    if name == "plugins" then
        return plugins_schema
    end
    return entities[name]
end

-- Kong's insert path: auto fields (defaults, shorthands, generated ids and
-- timestamps), then the whole entity's validation. An update (the merged
-- entity) also comes with the request's fields (`original`) and the stored
-- entity (`rbw`), which the all-or-none rule of transformations needs.
local function validated(schema, value, original, rbw)
    local err
    value, err = schema:process_auto_fields(value, "insert")
    if not value then
        return nil, err
    end
    local ok, fields
    if type(rbw) == "table" then
        ok, fields = schema:validate(value, true, type(original) == "table" and original or {},
                                     rbw)
    else
        ok, fields = schema:validate_insert(value)
    end
    if not ok then
        return nil, fields
    end
    return value
end

-- A handler of documents naming a schema: an unknown one is refused.
local function with_schema(handler)
    return function(doc)
        local schema = schema_of(doc.schema)
        if not schema then
            return respond(400, { message = ERR_SCHEMA .. tostring(doc.schema) })
        end
        return handler(schema, doc)
    end
end

-- What a plugin's validator or transformation that raised is reported as.
local function raised(doc, err)
    local message = "error in " .. tostring(doc.schema) .. " schema: " .. tostring(err)
    ngx.log(ngx.ERR, message)
    return message
end

local validate = with_schema(function(schema, doc)
    local value, fields = validated(schema, doc.value, doc.original, doc.rbw)
    if not value then
        return respond(400, { fields = fields })
    end
    return respond(200, { value = value })
end)

-- Inserts in bulk (a declarative load): `value` is an array of entities,
-- each answered in its place by {value}, {fields} or, when the plugin's own
-- code raised, {message}.
local validate_many = with_schema(function(schema, doc)
    local results = setmetatable({}, util.array_mt)
    for i, item in ipairs(doc.value) do
        local ok, value, fields = pcall(validated, schema, item)
        if not ok then
            results[i] = { message = raised(doc, value) }
        elseif value then
            results[i] = { value = value }
        else
            results[i] = { fields = fields }
        end
    end
    return respond(200, { results = results })
end)

-- Kong's write transformations (e.g. hashing a password) for the fields the
-- request supplied (`input`).
local transform = with_schema(function(schema, doc)
    local input = type(doc.input) == "table" and doc.input or doc.value
    local value, err = schema:transform(doc.value, input, "insert")
    if not value then
        return respond(400, { message = tostring(err) })
    end
    return respond(200, { value = value })
end)

-- Whether the data plane's stronger hash may replace a stored one (an
-- entity's `rehash.accepts`, kongpy's own key in a daos.lua definition).
local function accepts_rehash(doc)
    local schema = entities[doc.schema]
    local rehash = schema and schema.rehash
    local ok = type(rehash) == "table" and type(rehash.accepts) == "function"
               and rehash.accepts(doc.value.old, doc.value.new) == true
    return respond(200, { accepts = ok })
end

local function post(handler)
    local body = request.get_raw_body()
    local doc = body and cjson.decode(body)
    if type(doc) ~= "table" or type(doc.value) ~= "table" then
        return respond(400, { message = ERR_BODY })
    end
    -- a plugin's validator or transformation that raises is the plugin's
    -- error, reported (and logged), not a broken helper
    local ok, err = pcall(handler, doc)
    if not ok then
        return respond(500, { message = raised(doc, err) })
    end
    return err
end

-- The helper belongs to the process that started it: it leaves once that
-- process is gone (it is then adopted by another), checked every second.
ffi.cdef("int getppid(void);")

function _M.exit_with_parent(parent)
    local function check(premature)
        if not premature and ffi.C.getppid() ~= parent then
            os.exit(0)
        end
    end
    ngx.timer.every(1, check)
end

function _M.serve()
    local uri, method = var.uri, ngx.req.get_method()
    if uri == "/facts" and method == "GET" then
        ngx.status = 200
        header["Content-Type"] = "application/json"
        say(facts_body)
        return exit(200)
    elseif uri == "/validate" and method == "POST" then
        return post(validate)
    elseif uri == "/validate_many" and method == "POST" then
        return post(validate_many)
    elseif uri == "/transform" and method == "POST" then
        return post(transform)
    elseif uri == "/rehash" and method == "POST" then
        return post(accepts_rehash)
    end
    return respond(404, { message = ERR_NOT_FOUND })
end

return _M
