-- Vault references resolved for the data plane (docs/contracts.md §2, `POST /secrets`).
-- The control plane resolves every reference of the snapshot's referenceable fields
-- from the node's environment and pushes the values here; they live in the
-- `kongpy_snapshot` shared dict (memory only, never the prefix) and each worker
-- decodes them once per push. Configuration rows keep the references: a consumer
-- asks for the resolved copy (`resolve`) when it builds its structures.
local cjson = require("cjson.safe")

local ngx = ngx
local type = type
local pairs = pairs
local setmetatable = setmetatable
local getmetatable = getmetatable
local sub = string.sub

local ERR_SHAPE = "invalid secrets: expected {id, values, unresolved}"
local ERR_MISSING = "no value pushed for "
local ERR_NOT_YET = "no vault values received yet"
local KEY, ID_KEY = "secrets", "secrets_id"

local _M = {}

local dict = ngx.shared.kongpy_snapshot
local cache_id, values, unresolved = nil, {}, {}

function _M.is_reference(v)
    return type(v) == "string" and sub(v, 1, 9) == "{vault://" and sub(v, -1) == "}"
end

local function strings_only(t)
    if type(t) ~= "table" then
        return false
    end
    for k, v in pairs(t) do
        if type(k) ~= "string" or type(v) ~= "string" then
            return false
        end
    end
    return true
end

local function current()
    local id = dict:get(ID_KEY)
    if id ~= cache_id then
        local doc = cjson.decode(dict:get(KEY) or "") or {}
        values, unresolved = doc.values or {}, doc.unresolved or {}
        cache_id = id
    end
    return values, unresolved
end

-- The pushed value of a reference, or nil and why not.
function _M.get(ref)
    local vals, reasons = current()
    local v = vals[ref]
    if v then
        return v
    end
    return nil, reasons[ref] or (ERR_MISSING .. ref)
end

local function has_reference(t)
    for _, v in pairs(t) do
        if _M.is_reference(v) or (type(v) == "table" and has_reference(v)) then
            return true
        end
    end
    return false
end

-- The references the control plane resolved (or failed to) came from
-- referenceable fields; any other `{vault://...}` string is a literal value and
-- stays as it is. Before any document arrived (a node that has just started
-- serves its kept snapshot at once) every reference is refused: fail closed.
local function substitute(t, vals, reasons, held)
    local out = {}
    for k, v in pairs(t) do
        if _M.is_reference(v) and (vals[v] or reasons[v] or not held) then
            if not vals[v] then
                return nil, v, reasons[v] or ERR_NOT_YET
            end
            v = vals[v]
        elseif type(v) == "table" then
            local copy, ref, err = substitute(v, vals, reasons, held)
            if not copy then
                return nil, ref, err
            end
            v = copy
        end
        out[k] = v
    end
    return setmetatable(out, getmetatable(t))
end

-- A copy of `t` (a plugin config, a certificate row) with its references
-- resolved, `t` itself when it holds none; or nil, the reference, the reason.
function _M.resolve(t)
    if type(t) ~= "table" or not has_reference(t) then
        return t
    end
    local vals, reasons = current()
    return substitute(t, vals, reasons, cache_id ~= nil)
end

-- POST /secrets: stores the document; returns status, body, and whether it changed.
function _M.push(body)
    local doc = cjson.decode(body)
    if type(doc) ~= "table" or type(doc.id) ~= "string" or not strings_only(doc.values)
            or not strings_only(doc.unresolved) then
        return 400, { message = ERR_SHAPE }, false
    end
    if dict:get(ID_KEY) == doc.id then
        return 200, { id = doc.id }, false
    end
    local ok, err = dict:set(KEY, body)
    if not ok then
        return 400, { message = "invalid secrets: cannot store: " .. err }, false
    end
    dict:set(ID_KEY, doc.id)
    return 201, { id = doc.id }, true
end

function _M.id()
    return dict:get(ID_KEY)
end

return _M
