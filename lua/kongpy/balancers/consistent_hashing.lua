-- Consistent hashing (Kong's `consistent-hashing`): each address with a
-- weight owns points on a 32-bit circle in proportion to its weight (a
-- tenth of `slots` for an address of average weight, at least Kong's 160:
-- more points than Kong's keep each address's share of the keys within
-- about 2 % of its weight's share, where 160 leave up to 5 %). The
-- circle is cut into `slots` positions (at least 1,000, as Kong), each owned
-- by the last point at or below it; a hash value falls on a position and
-- walks down the circle to the first available owner. Removing an address
-- moves only the keys it owned. The placement depends on the addresses
-- alone, so every worker and node agrees.
-- the verdict alone: kongpy.health itself needs the served configuration
local health = require("kongpy.health.state")
local common = require("kongpy.balancers.common")
local random = require("kongpy.schema.random")

local ngx = ngx
local var = ngx.var
local md5_bin = ngx.md5_bin
local byte = string.byte

-- A well-spread 32-bit hash: the first four bytes of MD5 (in C). CRC32 is
-- linear, and the keys of a ring ("<ip>::<port> <i>") or of clients
-- ("user-1", "user-2") differ in a few bits only: their CRCs cluster.
local function hash32(text)
    local a, b, c, d = byte(md5_bin(text), 1, 4)
    return ((a * 256 + b) * 256 + c) * 256 + d
end
local get_uri_args = ngx.req.get_uri_args
local is_healthy = health.is_healthy

local type = type
local ipairs = ipairs
local tonumber = tonumber
local tostring = tostring
local setmetatable = setmetatable
local floor = math.floor
local lower = string.lower
local gsub = string.gsub
local sort = table.sort
local concat = table.concat

local ERR_NO_PEERS = common.ERR_NO_PEERS
local MIN_POINTS = 1000
local POINTS_PER_ADDRESS = 160

local _M = {}
local mt = { __index = _M }

local function by_hash(x, y)
    if x.h ~= y.h then return x.h < y.h end
    return x.a.key < y.a.key
end

function _M.new(up, addresses)
    local list, n = common.weighted(addresses)
    local total = 0
    for _, a in ipairs(list) do
        total = total + a.weight
    end
    local size = up.slots > MIN_POINTS and up.slots or MIN_POINTS
    -- points per address (of average weight) depend on `slots` only, so that
    -- adding or removing an address leaves the others' points in place
    local per = floor(size / 10)
    if per > floor(size * 4 / n) then per = floor(size * 4 / n) end
    if per < POINTS_PER_ADDRESS then per = POINTS_PER_ADDRESS end
    local count = n * per
    -- the points on a 32-bit circle, in order
    local points = {}
    for _, a in ipairs(list) do
        local own = floor(a.weight / total * count)
        if own < 1 then own = 1 end
        local name = a.ip .. "::" .. a.port .. " "
        for i = 1, own do
            points[#points + 1] = { h = hash32(name .. i), a = a }
        end
    end
    sort(points, by_hash)
    local np = #points
    -- slot s stands for the circle position (s - 1) * 2^32 / size; its owner
    -- is the last point at or below it (wrapping to the last point)
    local owner = {}
    if np > 0 then
        local k = 0
        for slot = 1, size do
            local pos = (slot - 1) * 4294967296 / size
            while k < np and points[k + 1].h <= pos do
                k = k + 1
            end
            owner[slot] = k > 0 and k or np
        end
    end
    return setmetatable({ up = up, points = points, owner = owner, size = size,
                          placed = np }, mt)
end

-- From point k down the circle to the first address this request may use.
local function walk(self, k, uid, tried)
    local points, np = self.points, self.placed
    local checks = self.up.checks
    for _ = 1, np do
        local a = points[k].a
        if not (tried and tried[a]) and (not checks or is_healthy(uid, a.ip, a.port)) then
            return a
        end
        k = k > 1 and k - 1 or np
    end
end

-- hash_value: the request's string (hash_input); retries start from the same
-- point and skip the addresses that failed.
function _M:get_peer(_, hash_value, tried)
    if self.placed == 0 then
        return nil, ERR_NO_PEERS
    end
    local pos = self.owner[hash32(hash_value or "") % self.size + 1]
    local uid = self.up.id
    local a = walk(self, pos, uid, tried)
    if not a and tried then
        a = walk(self, pos, uid, nil)
    end
    if not a then
        return nil, ERR_NO_PEERS
    end
    return a
end

function _M.after_balance()
end

-- The hash inputs of an upstream row, precomputed: nil unless the upstream
-- hashes (Kong computes the value for consistent-hashing only).
local function input(kind, header, cookie, cookie_path, query_arg, capture)
    if kind == "header" and type(header) == "string" then
        return { kind = kind, var = "http_" .. gsub(lower(header), "-", "_") }
    elseif kind == "cookie" and type(cookie) == "string" then
        local path = type(cookie_path) == "string" and cookie_path or "/"
        return { kind = kind, var = "cookie_" .. cookie,
                 set = cookie .. "=", attrs = "; Path=" .. path .. "; Same-Site=Lax; HttpOnly" }
    elseif kind == "query_arg" and type(query_arg) == "string" then
        return { kind = kind, name = query_arg }
    elseif kind == "uri_capture" and type(capture) == "string" then
        return { kind = kind, name = capture, index = tonumber(capture) }
    elseif kind == "consumer" or kind == "ip" or kind == "path" then
        return { kind = kind }
    end
end

function _M.hash_spec(row)
    if row.algorithm ~= "consistent-hashing" then
        return nil
    end
    return {
        on = input(row.hash_on, row.hash_on_header, row.hash_on_cookie,
                   row.hash_on_cookie_path, row.hash_on_query_arg, row.hash_on_uri_capture),
        fallback = input(row.hash_fallback, row.hash_fallback_header, nil, nil,
                         row.hash_fallback_query_arg, row.hash_fallback_uri_capture),
    }
end

local function query_value(name)
    local v = get_uri_args()[name]
    if v == true then
        return "true"
    end
    if type(v) == "table" then
        for i = 1, #v do
            if v[i] == true then v[i] = "true" end
        end
        sort(v)
        return concat(v, ",")
    end
    return v
end

local function value_of(spec, ctx, rematch)
    local kind = spec.kind
    if kind == "ip" then
        return var.remote_addr
    elseif kind == "header" then
        return var[spec.var]
    elseif kind == "path" then
        return var.uri
    elseif kind == "consumer" then
        local c = ctx.authenticated_consumer or ctx.authenticated_credential
        return c and c.id
    elseif kind == "query_arg" then
        return query_value(spec.name)
    elseif kind == "uri_capture" then
        local res = rematch and rematch()
        local caps = res and res.captures
        return caps and (caps[spec.name] or (spec.index and caps[spec.index])) or nil
    elseif kind == "cookie" then
        local v = var[spec.var]
        if not v then
            -- Kong hands the client a cookie to come back with
            v = random.uuid()
            ctx.kongpy_hash_cookie = spec.set .. v .. spec.attrs
        end
        return v
    end
end

-- The string a request hashes to: hash_on, else hash_fallback, else "".
-- `rematch` gives the router match (uri captures).
function _M.hash_input(spec, ctx, rematch)
    local v = spec.on and value_of(spec.on, ctx, rematch)
    if (v == nil or v == "") and spec.fallback then
        v = value_of(spec.fallback, ctx, rematch)
    end
    if type(v) ~= "string" then
        return v ~= nil and tostring(v) or ""
    end
    return v
end

return _M
