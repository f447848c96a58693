-- kong.db.<entity>'s writes for the entities a plugin writes while it
-- answers a request (kongpy.dpwrite's allow-list), shaped like Kong's DAO:
-- row, err, err_t (Kong's error table, as the control plane answered it).
local dpwrite = require("kongpy.dpwrite")
local store = require("kongpy.pdk.store")

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local match = string.match

local _M = {}

local function with_ttl(entity, options)
    if type(options) == "table" and options.ttl then
        local copy = {}
        for k, v in pairs(entity) do
            copy[k] = v
        end
        copy.ttl = options.ttl
        return copy
    end
    return entity
end

local function clean_answer(row, err, err_t)
    if not row then
        return nil, err, err_t
    end
    return store.clean(row)
end

local writes = {}

function writes.insert(self, entity, options)
    return clean_answer(dpwrite.insert(self.name, with_ttl(entity, options)))
end

function writes.update(self, pk, entity, options)
    return clean_answer(dpwrite.update(self.name, pk, with_ttl(entity, options)))
end

function writes.delete(self, pk)
    return dpwrite.delete(self.name, pk)
end

local function is_listed(list, name)
    for _, v in ipairs(list or {}) do
        if v == name then
            return true
        end
    end
    return false
end

-- The write method `method` of an entity with facts `facts` (its unique
-- fields), or nil; `select_by(name, field, value)` finds a row.
function _M.method(facts, method, select_by)
    if writes[method] then
        return writes[method]
    end
    local verb, field = match(method, "^(%a+)_by_(.+)$")
    if (verb == "update" or verb == "delete") and is_listed(facts.unique, field) then
        return function(self, value, a, b)
            local row = select_by(self.name, field, value)
            if not row then
                if verb == "delete" then
                    return true
                end
                return nil, "could not find the entity with '" .. field .. "' = '"
                    .. tostring(value) .. "'"
            end
            return writes[verb](self, { id = row.id }, a, b)
        end
    end
end

return _M
