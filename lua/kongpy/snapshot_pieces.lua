-- The pieces of a full snapshot (docs/contracts.md §1, `pieces`): entity
-- arrays decoded piece by piece, each piece's rows reused from the
-- configuration served when it already holds that piece's tag, so a reload
-- of a mostly unchanged configuration decodes (and allocates) little.
local cjson = require("cjson.safe")
local nkeys = require("table.nkeys")

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local floor = math.floor
local sub = string.sub

local ERR_JSON = "invalid JSON: "
local ERR_PIECES = "pieces must map entity names to [offset, length, tag] within the body"

local _M = { ERR = ERR_PIECES }

local function is_int(v)
    return type(v) == "number" and v == floor(v)
end

-- One piece of an entity array (docs/contracts.md §1, `pieces`): `p` is
-- {offset in the body, length, tag}; the rows of a tag the configuration
-- served now already holds are reused as they are, never decoded again.
local function piece_rows(blob, from, p, held)
    if type(p) ~= "table" or not is_int(p[1]) or not is_int(p[2]) or type(p[3]) ~= "string" then
        return nil, ERR_PIECES
    end
    local rows = held and held[p[3]]
    if rows then
        return rows
    end
    local first = from + p[1]
    local last = first + p[2] - 1
    if p[1] < 1 or p[2] < 1 or last > #blob then
        return nil, ERR_PIECES
    end
    local err
    rows, err = cjson.decode("[" .. sub(blob, first, last) .. "]")
    if type(rows) ~= "table" then
        return nil, ERR_JSON .. tostring(err)
    end
    return rows
end

-- The body of a snapshot whose header lists its pieces, decoding only the
-- pieces `held` (entity -> tag -> rows) lacks; also returns the pieces it is
-- made of (for the next load to reuse), the set of entities whose rows are
-- exactly those held, and the bytes it decoded.
function _M.decode(blob, from, spec, held)
    local body, pieces, same, decoded = {}, {}, {}, 0
    for name, list in pairs(spec) do
        if type(name) ~= "string" or type(list) ~= "table" then
            return nil, ERR_PIECES
        end
        local rows, kept, old = {}, {}, held and held[name]
        local n, reused = 0, 0
        for _, p in ipairs(list) do
            local part, err = piece_rows(blob, from, p, old)
            if not part then
                return nil, err
            end
            if old and old[p[3]] == part then
                reused = reused + 1
            else
                decoded = decoded + p[2]
            end
            kept[p[3]] = part
            for i = 1, #part do
                rows[n + i] = part[i]
            end
            n = n + #part
        end
        body[name], pieces[name] = rows, kept
        -- every piece held, and no other: the very rows of the served array
        same[name] = old ~= nil and reused == #list and reused == nkeys(old) or nil
    end
    return body, pieces, same, decoded
end

-- Whether `held` (entity -> tag -> rows) holds every piece header `h`
-- lists: then the body is not needed at all.
function _M.all_held(h, held)
    local spec = h.pieces
    if type(spec) ~= "table" or not held then
        return false
    end
    for name, list in pairs(spec) do
        local have = held[name]
        if not have or type(list) ~= "table" then
            return false
        end
        for _, p in ipairs(list) do
            if type(p) ~= "table" or not have[p[3]] then
                return false
            end
        end
    end
    return true
end

return _M
