-- The data plane's write channel (docs/contracts.md §9): a worker asks the
-- control plane, over its private unix socket, to insert, update or delete
-- one row of an entity a plugin writes while answering a request (oauth2's
-- codes and tokens, sessions). The control plane stores it through the
-- entity's DAO (validation, one transaction, a cluster event) and answers
-- with the stored row and the configuration version that holds it.
--
--   local dpwrite = require("kongpy.dpwrite")
--   local row, err = dpwrite.insert("oauth2_tokens", { ... })
--   row, err = dpwrite.update("oauth2_tokens", id, { ... })
--   local ok, err = dpwrite.delete("oauth2_tokens", id)
--
-- `err` is a string; a third value is the control plane's error body (Kong's
-- {code, name, message, fields}) when it refused the row.
--
-- Until this worker's configuration reaches that version, the row (or its
-- absence, after a delete) lives in an overlay in the `kongpy_writes` shared
-- dict, keyed by id and by each unique field, that kong.db consults first:
-- every worker of the node sees a write at once, every other node with the
-- next configuration push.
local cjson = require("cjson.safe")
local lrucache = require("resty.lrucache")
local store = require("kongpy.pdk.store")
local settings = require("kongpy.settings")

local ngx = ngx
local tcp = ngx.socket.tcp
local null = ngx.null

local type = type
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local io_open = io.open
local match = string.match
local concat = table.concat
local encode = cjson.encode
local decode = cjson.decode

local ERR_NOT_READY = "the write channel is not configured"
local ERR_NOT_ALLOWED = "the data plane cannot write '%s' entities"
local ERR_BAD_ANSWER = "invalid answer from the control plane"
-- longer than the control plane's own datastore timeouts
local TIMEOUT = 15000
local KEEPALIVE = 60000
local POOL = 16
-- an overlay entry outlives any normal push; once the configuration carries
-- the version it names, it is ignored anyway
local OVERLAY_TTL = 3600
-- an entry superseded this long ago is removed by the next lookup: every
-- worker serves that version by then (they look for new ones every 0.1 s),
-- and later lookups of the key cost a miss only
local SETTLED_AFTER = 5
local SEP = "\0"

local _M = {
    -- entity name -> true: the control plane's allow-list, from the settings
    WRITABLE = {},
}

local dict = ngx.shared.kongpy_writes
local socket_path, authorization
-- raw overlay entry -> decoded entry, per worker
local decoded = lrucache.new(2000)

-- Reads the node's secret (init phase: file I/O is allowed there) and the
-- entities the control plane lets the data plane write.
function _M.init(path, token_file, writable)
    socket_path, authorization = nil, nil
    for _, name in ipairs(writable or {}) do
        _M.WRITABLE[name] = true
    end
    local f = token_file and io_open(token_file, "rb")
    if not f or not path then
        return nil, ERR_NOT_READY
    end
    local token = match(f:read("*a") or "", "^%s*(%x+)%s*$")
    f:close()
    if not token then
        return nil, ERR_NOT_READY
    end
    socket_path, authorization = "unix:" .. path, "Bearer " .. token
    return true
end

local function read_answer(sock)
    local line, err = sock:receive("*l")
    if not line then
        return nil, err
    end
    local status = tonumber(match(line, "^HTTP/1%.%d (%d%d%d)"))
    if not status then
        return nil, ERR_BAD_ANSWER
    end
    local length, close = 0, false
    while true do
        line, err = sock:receive("*l")
        if not line then
            return nil, err
        end
        if line == "" then
            break
        end
        local name, value = match(line, "^([^:]+):%s*(.-)%s*$")
        name = name and name:lower()
        if name == "content-length" then
            length = tonumber(value) or 0
        elseif name == "connection" and value:lower() == "close" then
            close = true
        end
    end
    local body = ""
    if length > 0 then
        body, err = sock:receive(length)
        if not body then
            return nil, err
        end
    end
    return status, body, close
end

local function request(method, path, body)
    if not socket_path then
        return nil, ERR_NOT_READY
    end
    local sock = tcp()
    sock:settimeouts(TIMEOUT, TIMEOUT, TIMEOUT)
    local ok, err = sock:connect(socket_path)
    if not ok then
        return nil, "cannot reach the control plane: " .. tostring(err)
    end
    local payload = body and encode(body) or ""
    local sent
    sent, err = sock:send(concat({
        method, " ", path, " HTTP/1.1\r\nHost: localhost\r\nAuthorization: ", authorization,
        "\r\nContent-Type: application/json\r\nContent-Length: ", #payload, "\r\n\r\n",
        payload }))
    if not sent then
        sock:close()
        return nil, "cannot reach the control plane: " .. tostring(err)
    end
    local status, answer, close = read_answer(sock)
    if not status then
        sock:close()
        return nil, "no answer from the control plane: " .. tostring(answer)
    end
    if close then
        sock:close()
    else
        sock:setkeepalive(KEEPALIVE, POOL)
    end
    local data = decode(answer)
    if type(data) ~= "table" then
        return nil, ERR_BAD_ANSWER
    end
    if status >= 300 then
        return nil, tostring(data.message or status), data
    end
    return data
end

local function key(entity, field, value)
    return entity .. SEP .. field .. SEP .. tostring(value)
end

local function unique_fields(entity)
    local facts = settings.entities and settings.entities[entity]
    return facts and facts.unique or {}
end

local function keyable(v)
    local t = type(v)
    return t == "string" or t == "number"
end

-- Stores `entry` ({v = version, row = row or absent}) under the id and the
-- unique values of `row`; `old` (the row before the change) gets tombstones
-- for the unique values the change dropped.
local function remember(entity, version, row, old)
    if not dict then
        return
    end
    local t = ngx.now()
    local raw = encode({ v = version, t = t, row = row or null })
    local tomb = encode({ v = version, t = t, row = null })
    local any = row or old
    dict:set(key(entity, "id", any.id), raw, OVERLAY_TTL)
    for _, field in ipairs(unique_fields(entity)) do
        local new_value = row and row[field]
        if keyable(new_value) then
            dict:set(key(entity, field, new_value), raw, OVERLAY_TTL)
        end
        local old_value = old and old[field]
        if keyable(old_value) and old_value ~= new_value then
            dict:set(key(entity, field, old_value), tomb, OVERLAY_TTL)
        end
    end
end

-- lookup(entity, field, value) -> known, row: `known` is true when the
-- overlay holds a write this worker's configuration does not carry yet;
-- `row` is then the row written, or nil when it was deleted.
function _M.lookup(entity, field, value)
    if not dict or not keyable(value) then
        return false
    end
    local k = key(entity, field, value)
    local raw = dict:get(k)
    if not raw then
        return false
    end
    local entry = decoded:get(raw)
    if not entry then
        entry = decode(raw)
        if type(entry) ~= "table" then
            return false
        end
        decoded:set(raw, entry)
    end
    local served = store.version()
    if type(served) == "number" and type(entry.v) == "number" and served >= entry.v then
        -- (unless a newer write replaced it meanwhile)
        if type(entry.t) == "number" and ngx.now() - entry.t > SETTLED_AFTER
            and dict:get(k) == raw then
            dict:delete(k)
        end
        return false
    end
    local row = entry.row
    return true, row ~= null and row or nil
end

local function check(entity)
    if not _M.WRITABLE[entity] then
        return nil, ERR_NOT_ALLOWED:format(tostring(entity))
    end
    return true
end

local function write(method, entity, id, body)
    local ok, err = check(entity)
    if not ok then
        return nil, err
    end
    local path = "/rows/" .. entity .. (id and ("/" .. id) or "")
    local data, rerr, err_t = request(method, path, body)
    if not data then
        return nil, rerr, err_t
    end
    local row = data.row ~= null and data.row or nil
    local old = data.old ~= null and data.old or nil
    if (row or old) and type(data.version) == "number" then
        remember(entity, data.version, method ~= "DELETE" and row or nil,
                 method == "DELETE" and row or old)
    end
    return data
end

function _M.insert(entity, row)
    local data, err, err_t = write("POST", entity, nil, row)
    return data and data.row, err, err_t
end

function _M.update(entity, id, patch)
    if type(id) == "table" then
        id = id.id
    end
    local data, err, err_t = write("PATCH", entity, tostring(id), patch)
    return data and data.row, err, err_t
end

-- Deleting a row that is already gone is not an error (as in Kong).
function _M.delete(entity, id)
    if type(id) == "table" then
        id = id.id
    end
    local data, err, err_t = write("DELETE", entity, tostring(id), nil)
    return data and true, err, err_t
end

return _M
