-- response-transformer's edits (Kong 3.9's header_transformer and
-- body_transformer): headers in the order remove, rename, replace (only
-- what the service sent), add (only what it did not), append; then the
-- JSON body's top-level fields in the same order.
--
-- The `name:value` splits and the JSON form of each value are computed once
-- per configuration table. Kong compares against the headers as they were
-- before any edit; a configuration of additions and appends alone (names
-- not repeated) gets the same answer from one lookup per name, without
-- copying every response header.
local json = require("kongpy.tools.json")
local multivalue = require("kongpy.tools.values")
local cjson = require("cjson")
local mime_type = require("kong.tools.mime_type")
local lrucache = require("resty.lrucache")

local kong = kong
local type = type
local ipairs = ipairs
local tonumber = tonumber
local setmetatable = setmetatable
local gmatch = string.gmatch
local parse_mime_type = mime_type.parse_mime_type
local includes = mime_type.includes
local lower = string.lower
local match = string.match
local sub = string.sub
local gsub = string.gsub
local byte = string.byte

local QUOTE = byte('"')
local ERR_PARSE = "failed parsing json body"

local _M = {}

local JSON_TYPE = { type = "application", subtype = "json" }
-- the few Content-Type values a node sees, decided once per worker
local json_types = lrucache.new(64)

-- Whether one of the comma-separated media types is JSON, as Kong decides:
-- parsed as written (no lower-casing: "Application/JSON" is not), and
-- application/json includes the "+json" subtypes.
local function json_media(content_type)
    for part in gmatch(content_type, "[^,]+") do
        local t, st = parse_mime_type(match(part, "^%s*(.-)%s*$"))
        if t and st and includes(JSON_TYPE, { type = t, subtype = st }) then
            return true
        end
    end
    return false
end

function _M.is_json_body(content_type)
    if content_type == nil then
        return false
    end
    local yes = json_types:get(content_type)
    if yes == nil then
        yes = json_media(content_type)
        json_types:set(content_type, yes)
    end
    return yes
end

local function split(list)
    local out = {}
    for i, pair in ipairs(list or {}) do
        local name, value = match(pair, "^([^:]+):*(.-)$")
        if value == "" then
            value = nil
        end
        out[i] = { name = name, value = value }
    end
    return out
end

-- Kong's JSON form of a configured value: encoded, unquoted, slashes
-- unescaped, then cast to its json_type (an empty value becomes "null").
local function json_value(value, json_type)
    local v = cjson.encode(value)
    if v and byte(v, 1) == QUOTE and byte(v, -1) == QUOTE then
        v = gsub(sub(v, 2, -2), '\\"', '"')
    end
    v = v and gsub(v, "\\/", "/")
    if json_type == "number" then
        return tonumber(v)
    elseif json_type == "boolean" then
        return v == "true"
    end
    return v
end

local function json_entries(section)
    local out = split(section and section.json)
    local types = section and section.json_types
    for i, e in ipairs(out) do
        e.json = json_value(e.value, types and types[i])
    end
    return out
end

local plans = setmetatable({}, { __mode = "k" })

function _M.plan(conf)
    local plan = plans[conf]
    if plan then
        return plan
    end
    plan = {
        remove = split(conf.remove.headers),
        rename = split(conf.rename.headers),
        replace = split(conf.replace.headers),
        add = split(conf.add.headers),
        append = split(conf.append.headers),
        json_remove = split(conf.remove.json),
        json_rename = split(conf.rename.json),
        json_replace = json_entries(conf.replace),
        json_add = json_entries(conf.add),
        json_append = json_entries(conf.append),
    }
    plan.json = plan.json_remove[1] or plan.json_rename[1] or plan.json_replace[1]
                or plan.json_add[1] or plan.json_append[1]
    local unique = {}
    plan.lookups = not (plan.remove[1] or plan.rename[1] or plan.replace[1])
    for _, e in ipairs(plan.add) do
        local n = lower(e.name)
        if unique[n] then
            plan.lookups = false
        end
        unique[n] = true
    end
    plan.any = (plan.remove[1] or plan.rename[1] or plan.replace[1] or plan.add[1]
                or plan.append[1] or plan.json) ~= nil
    plans[conf] = plan
    return plan
end

local function headers_with_snapshot(plan)
    local response = kong.response
    local headers = response.get_headers()
    for _, e in ipairs(plan.remove) do
        response.clear_header(e.name)
    end
    for _, e in ipairs(plan.rename) do
        local value = headers[e.name]
        if value ~= nil and e.value then
            response.set_header(e.value, value)
            response.clear_header(e.name)
        end
    end
    for _, e in ipairs(plan.replace) do
        if headers[e.name] ~= nil and e.value then
            response.set_header(e.name, e.value)
        end
    end
    for _, e in ipairs(plan.add) do
        if headers[e.name] == nil and e.value then
            response.set_header(e.name, e.value)
        end
    end
    return headers["Content-Type"]
end

local function add_absent(response, e)
    if e.value and response.get_header(e.name) == nil then
        response.set_header(e.name, e.value)
    end
end

-- The first header without a loop: one `add` entry would make a loop that
-- goes round once per response, which LuaJIT aborts every trace on and in
-- the end leaves the whole header_filter phase interpreted
-- (lua/kongpy/traceable.lua, bench/README.md "Traces").
local function headers_with_lookups(plan)
    local response = kong.response
    local content_type = plan.json and response.get_header("Content-Type")
    local add = plan.add
    local n = #add
    if n > 0 then
        add_absent(response, add[1])
        for i = 2, n do
            add_absent(response, add[i])
        end
    end
    return content_type
end

function _M.headers(plan)
    if not plan.any then
        return
    end
    local content_type
    if plan.lookups then
        content_type = headers_with_lookups(plan)
    else
        content_type = headers_with_snapshot(plan)
    end
    for _, e in ipairs(plan.append) do
        kong.response.add_header(e.name, e.value)
    end
    -- the body is going to change
    if plan.json and _M.is_json_body(content_type) then
        kong.response.clear_header("Content-Length")
    end
end


-- json_body(plan, body): the edited JSON text, or nil and an error.
function _M.json_body(plan, body)
    local doc = json.decode(body)
    if type(doc) ~= "table" then
        return nil, ERR_PARSE
    end
    if json.is_array(body) then
        return json.encode(doc)
    end
    for _, e in ipairs(plan.json_remove) do
        doc[e.name] = nil
    end
    for _, e in ipairs(plan.json_rename) do
        if doc[e.name] ~= nil and e.value then
            local value = doc[e.name]
            doc[e.value] = value
            doc[e.name] = nil
        end
    end
    for _, e in ipairs(plan.json_replace) do
        if doc[e.name] and e.json ~= nil then
            doc[e.name] = e.json
        end
    end
    for _, e in ipairs(plan.json_add) do
        if not doc[e.name] and e.json ~= nil then
            doc[e.name] = e.json
        end
    end
    for _, e in ipairs(plan.json_append) do
        if e.json ~= nil then
            doc[e.name] = multivalue.append(doc[e.name], e.json)
        end
    end
    return json.encode(doc)
end

return _M
