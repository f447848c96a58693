-- request-transformer's body edits (Kong 3.9): JSON, urlencoded forms and
-- multipart/form-data, chosen by the request's Content-Type. Removals,
-- renames and replacements need a body; additions and appends make one.
-- A multipart body keeps its other parts (files included) byte for byte;
-- as in Kong, `append` does not apply to it.
local json = require("kongpy.tools.json")
local multipart = require("kong.plugins.request-transformer.multipart")
local multivalue = require("kongpy.tools.values")

local kong = kong
local type = type
local ipairs = ipairs
local find = string.find
local lower = string.lower
local decode_args_ngx = ngx.decode_args
local encode_args = ngx.encode_args

local JSON, MULTI, ENCODED = "json", "multi_part", "form_encoded"

local _M = { ENCODED = ENCODED }

function _M.content_type(value)
    if value == nil then
        return nil
    end
    value = lower(value)
    if find(value, "application/json", 1, true) then
        return JSON
    elseif find(value, "multipart/form-data", 1, true) then
        return MULTI
    elseif find(value, "application/x-www-form-urlencoded", 1, true) then
        return ENCODED
    end
end

function _M.decode_args(raw)
    if raw then
        return decode_args_ngx(raw)
    end
    return {}
end



-- remove, rename, replace, add, append on a decoded JSON object or form;
-- `absent(v)` says whether add may set a name (Kong tests JSON by truth,
-- forms by nil).
local function edit(b, params, has_body, render, env, absent)
    local changed = false
    if has_body then
        for _, e in ipairs(b.remove or {}) do
            render(e.value, env)
            params[e.name] = nil
            changed = true
        end
        for _, e in ipairs(b.rename or {}) do
            changed = multivalue.rename(params, e.name, render(e.value, env)) or changed
        end
        for _, e in ipairs(b.replace or {}) do
            local value = render(e.value, env)
            if params[e.name] then
                params[e.name] = value
                changed = true
            end
        end
    end
    for _, e in ipairs(b.add or {}) do
        local value = render(e.value, env)
        if absent(params[e.name]) then
            params[e.name] = value
            changed = true
        end
    end
    for _, e in ipairs(b.append or {}) do
        params[e.name] = multivalue.append(params[e.name], render(e.value, env))
        changed = true
    end
    return changed
end

local function falsy(v)
    return not v
end

local function is_nil(v)
    return v == nil
end

local function transform_json(b, raw, has_body, render, env)
    local params = json.decode(raw)
    if type(params) ~= "table" then
        if has_body then
            return nil
        end
        params = {}
    elseif json.is_array(raw) then
        -- names never reach an array's elements: Kong sends it again
        -- (re-encoded) whenever an edit that always counts is configured
        if (has_body and b.remove) or b.add or b.append then
            return json.encode(params)
        end
        return nil
    end
    if edit(b, params, has_body, render, env, falsy) then
        return json.encode(params)
    end
end

local function transform_form(b, raw, has_body, render, env)
    local params = _M.decode_args(raw)
    if edit(b, params, has_body, render, env, is_nil) then
        return encode_args(params)
    end
end

local function transform_multipart(b, raw, has_body, ctype, render, env)
    local parts = multipart.parse(raw or "", ctype)
    local changed = false
    if has_body then
        for _, e in ipairs(b.rename or {}) do
            local new_name = render(e.value, env)
            local part = parts:get(e.name)
            if part and e.name ~= new_name then
                parts:set_simple(new_name, part.value)
                parts:delete(e.name)
                changed = true
            end
        end
        for _, e in ipairs(b.remove or {}) do
            render(e.value, env)
            parts:delete(e.name)
            changed = true
        end
        for _, e in ipairs(b.replace or {}) do
            local value = render(e.value, env)
            if parts:get(e.name) then
                parts:delete(e.name)
                parts:set_simple(e.name, value)
                changed = true
            end
        end
    end
    for _, e in ipairs(b.add or {}) do
        local value = render(e.value, env)
        if not parts:get(e.name) then
            parts:set_simple(e.name, value)
            changed = true
        end
    end
    if changed then
        return parts:tostring()
    end
end

function _M.transform(b, env, render)
    local ctype_value = kong.request.get_header("Content-Type")
    local ctype = _M.content_type(ctype_value)
    if ctype == nil then
        return
    end
    local raw, err = kong.request.get_raw_body()
    if err then
        kong.log.warn(err)
    end
    local has_body = raw ~= nil and #raw > 0
    local out
    if ctype == ENCODED then
        out = transform_form(b, raw, has_body, render, env)
    elseif ctype == MULTI then
        out = transform_multipart(b, raw, has_body, ctype_value, render, env)
    else
        out = transform_json(b, raw, has_body, render, env)
    end
    if out then
        kong.service.request.set_raw_body(out)
        kong.service.request.set_header("Content-Length", #out)
    end
end

return _M
