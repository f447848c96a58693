-- kong.db.<entity>: read access to the configuration this worker serves,
-- shaped like Kong's DAO (select, select_by_<unique field>, each, page,
-- each_for_/page_for_<foreign key>, cache_key). Lookups go through the hash
-- indexes of kongpy.pdk.store (built once per configuration version and kept
-- current by deltas), never a scan per request. Rows come as Kong returns
-- them, without JSON nulls ({nulls = true} gives them). The data plane never
-- opens the datastore: every write raises, except on the few entities a
-- plugin writes while answering (kongpy.dpwrite's allow-list), which go to
-- the control plane over the write channel and are seen first here.
local store = require("kongpy.pdk.store")
local settings = require("kongpy.settings")
local dpwrite = require("kongpy.dpwrite")
local writes = require("kongpy.pdk.dao_writes")

local ngx = ngx
local null = ngx.null

local type = type
local pairs = pairs
local ipairs = ipairs
local error = error
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local format = string.format
local match = string.match
local concat = table.concat

local DEFAULT_PAGE = 100
local MAX_PAGE = 1000
local WRITES = {
    insert = true, update = true, upsert = true, delete = true, truncate = true,
    select_by_cache_key_and_delete = true,
}
local ERR_WRITE = "kong.db.%s:%s: the data plane cannot write to the datastore"
local EMPTY = {}

local _M = {}

local function facts(name)
    return settings.entities[name] or EMPTY
end

local function visible(row, options)
    if not row or store.expired(row) then
        return nil
    end
    if options and options.nulls then
        return row
    end
    return store.clean(row)
end

local WRITABLE = dpwrite.WRITABLE
local lookup = dpwrite.lookup

local Dao = {}

function Dao:select(pk, options)
    if type(pk) ~= "table" then
        error("primary_key must be a table", 2)
    end
    if WRITABLE[self.name] then
        local known, row = lookup(self.name, "id", pk.id)
        if known then
            return visible(row, options)
        end
    end
    local rows = store.current and store.current.entities[self.name]
    return visible(rows and rows[pk.id], options)
end

-- the row with `field` = `value`, overlay first (select_by_<field>)
local function select_by(name, field, value, options)
    if WRITABLE[name] then
        local known, row = lookup(name, field, value)
        if known then
            return visible(row, options)
        end
    end
    return visible(store.index(name, field)[value], options)
end

local function check_size(size)
    if size == nil then
        return DEFAULT_PAGE
    end
    if type(size) ~= "number" or size < 1 or size > MAX_PAGE then
        error("size must be a number between 1 and " .. MAX_PAGE, 3)
    end
    return size
end

local function page_of(list, size, offset, options)
    size = check_size(size)
    local from = 1
    if offset ~= nil then
        from = tonumber(offset)
        if not from or from < 1 then
            return nil, "invalid offset", { code = 7, name = "invalid offset",
                                             message = "invalid offset" }
        end
    end
    local out = {}
    local i = from
    local n = #list
    while i <= n and #out < size do
        local row = visible(list[i], options)
        if row then
            out[#out + 1] = row
        end
        i = i + 1
    end
    local next_offset = i <= n and tostring(i) or nil
    return out, nil, nil, next_offset
end

local function each_of(list, size, options)
    check_size(size)
    local i = 0
    return function()
        while true do
            i = i + 1
            local raw = list[i]
            if raw == nil then
                return nil
            end
            local row = visible(raw, options)
            if row then
                return row
            end
        end
    end
end

-- page(size, offset, options): rows, err, err_t, next offset (id order).
function Dao:page(size, offset, options)
    return page_of(store.rows(self.name), size, offset, options)
end

-- each(size, options): for row in dao:each() do ... end
function Dao:each(size, options)
    return each_of(store.rows(self.name), size, options)
end

local function cache_key_part(v)
    if v == nil or v == null then
        return ""
    end
    if type(v) == "table" then
        return tostring(v.id or "")
    end
    return tostring(v)
end

-- cache_key(key, ...): Kong's "<entity>:<k1>:<k2>:<k3>:<k4>:<k5>:<workspace>"
-- (kongpy has no workspaces: the last part is empty). A row (table) gives the
-- values of the entity's cache key fields, or its id.
function Dao:cache_key(key, a2, a3, a4, a5)
    if type(key) == "string" then
        return format("%s:%s:%s:%s:%s:%s:", self.name, key, cache_key_part(a2),
                      cache_key_part(a3), cache_key_part(a4), cache_key_part(a5))
    end
    if type(key) ~= "table" then
        error("key must be a string or an entity table", 2)
    end
    local fields = facts(self.name).cache_key
    if not fields or #fields == 0 then
        fields = { "id" }
    end
    local parts = { self.name }
    for i = 1, 5 do
        parts[i + 1] = fields[i] and cache_key_part(key[fields[i]]) or ""
    end
    parts[7] = ""
    return concat(parts, ":")
end

-- entity name -> {ps, version, idx}
local by_cache_key = {}

-- select_by_cache_key(key): through an index of the rows' cache keys, built
-- once per configuration version.
function Dao:select_by_cache_key(key, options)
    local cur = store.current
    if not cur then
        return nil
    end
    local built = by_cache_key[self.name]
    if not built or built.ps ~= cur or built.version ~= cur.version then
        local idx = {}
        for _, row in pairs(cur.entities[self.name] or EMPTY) do
            idx[self:cache_key(row)] = row
        end
        built = { ps = cur, version = cur.version, idx = idx }
        by_cache_key[self.name] = built
    end
    return visible(built.idx[key], options)
end

local function is_listed(list, name)
    for _, v in ipairs(list or EMPTY) do
        if v == name then
            return true
        end
    end
    return false
end

-- Methods named after fields: select_by_<unique>, each_for_/page_for_<foreign>,
-- and the writes, which raise.
local function field_method(dao, method)
    local name = dao.name
    local f = facts(name)
    local field = match(method, "^select_by_(.+)$")
    if field and is_listed(f.unique, field) then
        return function(self, value, options)
            return select_by(self.name, field, value, options)
        end
    end
    if WRITABLE[name] then
        local fn = writes.method(f, method, select_by)
        if fn then
            return fn
        end
    end
    local kind
    kind, field = match(method, "^(%a+)_for_(.+)$")
    if (kind == "each" or kind == "page") and is_listed(f.foreign, field) then
        -- each_for_x(fk, size, options); page_for_x(fk, size, offset, options)
        return function(self, fk, size, a, b)
            local id = type(fk) == "table" and fk.id or fk
            local list = store.index(self.name, field, true)[id] or EMPTY
            if kind == "each" then
                return each_of(list, size, a)
            end
            return page_of(list, size, a, b)
        end
    end
    local verb = match(method, "^(%a+)_by_") or match(method, "^(%a+)_for_") or method
    if WRITES[verb] or WRITES[method] then
        return function()
            error(format(ERR_WRITE, name, method), 2)
        end
    end
end

local dao_mt = {
    __index = function(dao, method)
        local fn = Dao[method] or field_method(dao, method)
        if fn then
            dao[method] = fn
        end
        return fn
    end,
}

local function known(name)
    if settings.entities[name] then
        return true
    end
    local cur = store.current
    return cur and cur.entities[name] ~= nil
end

return setmetatable(_M, {
    __index = function(db, name)
        if type(name) ~= "string" or not known(name) then
            return nil
        end
        local dao = setmetatable({ name = name, schema = { name = name } }, dao_mt)
        db[name] = dao
        return dao
    end,
})
