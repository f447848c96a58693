-- Read access to the entities of the configuration this worker serves:
-- hash indexes (value -> row) built once per configuration version.
local ngx = ngx
local now = ngx.now
local null = ngx.null

local type = type
local ipairs = ipairs

local _M = {
    -- set by the plugin runner whenever a request runs on a new configuration
    current = nil,
}

local EMPTY = {}

local function key_of(v)
    if type(v) == "table" then
        return v.id
    end
    return v
end

-- Builds the index of `rows` on `field`; `multi` maps a value to a list of rows.
function _M.build_index(rows, field, multi)
    local idx = {}
    for _, row in ipairs(rows or EMPTY) do
        local k = key_of(row[field])
        if k ~= nil and k ~= null then
            if multi then
                local list = idx[k]
                if not list then
                    list = {}
                    idx[k] = list
                end
                list[#list + 1] = row
            else
                idx[k] = row
            end
        end
    end
    return idx
end

-- index(entity, field[, multi]): value -> row (or list of rows) for the current
-- configuration; built on first use unless the runner prebuilt it.
function _M.index(entity, field, multi)
    local cur = _M.current
    if not cur then
        return EMPTY
    end
    local name = entity .. (multi and "*" or ":") .. field
    local idx = cur.indexes[name]
    if not idx then
        idx = _M.build_index(cur.entities[entity], field, multi)
        cur.indexes[name] = idx
    end
    return idx
end

function _M.rows(entity)
    local cur = _M.current
    return cur and cur.entities[entity] or EMPTY
end

-- A row whose ttl ran out is no longer honoured, even before the control
-- plane pushes a configuration without it.
function _M.expired(row)
    local at = row.expires_at
    return type(at) == "number" and at <= now()
end

function _M.version()
    local cur = _M.current
    return cur and cur.version
end

return _M
