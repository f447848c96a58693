-- Read access to the entities of the configuration this worker serves:
-- entity rows by id, and hash indexes (value -> row) kept current by
-- kongpy.state as deltas replace or remove rows.
local ngx = ngx
local now = ngx.now
local null = ngx.null

local type = type
local pairs = pairs
local setmetatable = setmetatable
local sort = table.sort

local _M = {
    -- the runner state of the configuration this worker serves, set by
    -- kongpy.snapshot whenever that changes (never per request)
    current = nil,
}

local EMPTY = {}

local function key_of(v)
    if type(v) == "table" then
        return v.id
    end
    return v
end

local function by_id(a, b)
    return a.id < b.id
end

-- Adds `row` to index `idx` (on `field`; `multi`: value -> list of rows).
function _M.index_add(idx, field, multi, row)
    local k = key_of(row[field])
    if k == nil or k == null then
        return
    end
    if not multi then
        idx[k] = row
        return
    end
    local list = idx[k]
    if not list then
        list = {}
        idx[k] = list
    end
    list[#list + 1] = row
end

-- Removes `row` (the very table that was added) from index `idx`.
function _M.index_remove(idx, field, multi, row)
    local k = key_of(row[field])
    if k == nil or k == null then
        return
    end
    local cur = idx[k]
    if not multi then
        if cur == row then
            idx[k] = nil
        end
        return
    end
    if not cur then
        return
    end
    local n = #cur
    for i = 1, n do
        if cur[i] == row then
            cur[i] = cur[n]
            cur[n] = nil
            break
        end
    end
    if #cur == 0 then
        idx[k] = nil
    end
end

-- Builds the index of `rows` (id -> row) on `field`.
function _M.build_index(rows, field, multi)
    local idx = {}
    for _, row in pairs(rows or EMPTY) do
        _M.index_add(idx, field, multi, row)
    end
    return idx
end

-- The names are memoized (entity -> field -> name, per shape): a lookup on a
-- request's path builds no string.
local names = { [false] = {}, [true] = {} }

function _M.index_name(entity, field, multi)
    local by_entity = names[multi and true or false]
    local by_field = by_entity[entity]
    if not by_field then
        by_field = {}
        by_entity[entity] = by_field
    end
    local name = by_field[field]
    if not name then
        name = entity .. (multi and "*" or ":") .. field
        by_field[field] = name
    end
    return name
end

-- Builds (or returns) index `entity` on `field` in the runner state `ps`,
-- recording its shape so changed rows can be applied to it incrementally.
function _M.ensure_index(ps, entity, field, multi)
    local name = _M.index_name(entity, field, multi)
    local idx = ps.indexes[name]
    if not idx then
        idx = _M.build_index(ps.entities[entity], field, multi)
        ps.indexes[name] = idx
        ps.index_specs[name] = { entity, field, multi or false }
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
    return _M.ensure_index(cur, entity, field, multi)
end

-- The rows of `entity` as an array (in id order), built once per change.
function _M.rows(entity)
    local cur = _M.current
    if not cur then
        return EMPTY
    end
    local arr = cur.arrays[entity]
    if arr then
        return arr
    end
    arr = {}
    for _, row in pairs(cur.entities[entity] or EMPTY) do
        arr[#arr + 1] = row
    end
    sort(arr, by_id)
    cur.arrays[entity] = arr
    return arr
end

-- A row whose ttl ran out is no longer honoured, even before the control
-- plane pushes a configuration without it.
function _M.expired(row)
    local at = row.expires_at
    return type(at) == "number" and at <= now()
end

-- A row as Kong's DAO returns it: unset (JSON null) fields left out. One
-- copy per row and worker, kept as long as the row itself (a change in the
-- configuration replaces the row, so a copy is never stale).
local cleaned = setmetatable({}, { __mode = "k" })

function _M.clean(row)
    if row == nil then
        return nil
    end
    local c = cleaned[row]
    if c == nil then
        c = {}
        for k, v in pairs(row) do
            if v ~= null then
                c[k] = v
            end
        end
        cleaned[row] = c
    end
    return c
end

function _M.version()
    local cur = _M.current
    return cur and cur.version
end

return _M
