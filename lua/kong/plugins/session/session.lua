-- One request's session, lua-resty-session 4's model: open (from the cookie,
-- or the remember cookie), check the absolute, rolling and idling timeouts,
-- refresh (renew past 3/4 of the rolling timeout, touch the idling offset),
-- save, destroy. Cookies to send are collected in `s.cookies`; the handler
-- puts them on the response. Payloads live in the cookie or, for
-- storage = kong, in the `sessions` entity (storage.lua).
local format = require("kong.plugins.session.format")
local storage = require("kong.plugins.session.storage")
local cookies = require("kong.plugins.session.cookies")
local cjson = require("cjson.safe")
local rand = require("kong.tools.rand")

local ngx = ngx
local time = ngx.time
local var = ngx.var
local type = type
local floor = math.floor
local min = math.min
local sub = string.sub
local band = bit.band
local bor = bit.bor

local ERR_EXPIRED = "session expired"
local ERR_AUDIENCE = "session audience not found"
local ERR_KIND = "session kind mismatch"

local MAX_CHUNKS = 9

local _M = {}
local mt = { __index = _M }

local function timeouts(conf, remember)
    if remember then
        return 0, conf.remember_rolling_timeout or 0, conf.remember_absolute_timeout or 0
    end
    return conf.idling_timeout or 0, conf.rolling_timeout or 0, conf.absolute_timeout or 0
end

-- Seconds left before each timeout (nil when that timeout is off).
local function remaining(conf, m, remember, now)
    local idling, rolling, absolute = timeouts(conf, remember)
    local age = now - m.created_at
    local idle = idling > 0 and idling - (age - m.rolling_offset - m.idling_offset) or nil
    local roll = rolling > 0 and rolling - (age - m.rolling_offset) or nil
    local abs = absolute > 0 and absolute - age or nil
    return idle, roll, abs
end

function _M:load(name, remember)
    local conf, now = self.conf, self.now
    local first = var["cookie_" .. name]
    if not first then
        return nil
    end
    local m, err = format.open_header(conf.secret, sub(first, 1, format.HEADER_B64_LEN))
    if not m then
        return nil, err
    end
    if (band(m.flags, format.FLAG_REMEMBER) ~= 0) ~= remember then
        return nil, ERR_KIND
    end
    local idle, roll, abs = remaining(conf, m, remember, now)
    if (idle and idle <= 0) or (roll and roll <= 0) or (abs and abs <= 0) or m.created_at > now then
        return nil, ERR_EXPIRED
    end
    local payload
    if band(m.flags, format.FLAG_STORAGE) ~= 0 then
        payload, err = storage.get(conf, format.b64url(m.sid))
    else
        local value = cookies.read(name, format.HEADER_B64_LEN + format.b64_len(m.size))
        payload = sub(value, format.HEADER_B64_LEN + 1)
    end
    if not payload then
        return nil, err
    end
    local plaintext
    plaintext, err = format.open_payload(conf.secret, m, payload)
    if not plaintext then
        return nil, err
    end
    local entries = cjson.decode(plaintext)
    if type(entries) ~= "table" then
        return nil, "invalid session data"
    end
    for i = 1, #entries do
        local e = entries[i]
        if type(e) == "table" and e[2] == conf.audience and type(e[1]) == "table" then
            self.meta, self.payload, self.entries, self.index = m, payload, entries, i
            self.present, self.remembered = true, remember
            return true
        end
    end
    return nil, ERR_AUDIENCE
end

-- open(conf) -> s, err, exists
function _M.open(conf)
    local s = setmetatable({ conf = conf, now = time(), cookies = {} }, mt)
    local ok, err = s:load(conf.cookie_name, false)
    if not ok and conf.remember then
        local rerr
        ok, rerr = s:load(conf.remember_cookie_name, true)
        err = err or rerr
    end
    return s, err, ok == true
end

function _M:get_data()
    local e = self.entries[self.index]
    return e[1][1], e[1][2], e[1][3]
end

function _M:set_data(consumer_id, credential_id, groups, subject)
    self.entries = self.entries or {}
    self.index = self.index or #self.entries + 1
    self.entries[self.index] = { { consumer_id, credential_id, groups or cjson.null },
                                 self.conf.audience, subject }
end

function _M:get_subject()
    return self.entries[self.index][3]
end

function _M:set_cookie(name, value, max_age)
    cookies.set(self.cookies, self.conf, name, value, max_age)
end

function _M:clear_cookie(name)
    cookies.clear(self.cookies, self.conf, name)
end

-- Writes one session (main or remember) with a new id: its cookie, and its
-- row for storage = kong (the old row then lives stale_ttl more seconds).
local function write(self, plaintext, remember, created_at, rolling_offset)
    local conf = self.conf
    local flags = remember and format.FLAG_REMEMBER or 0
    if conf.storage == "kong" then
        flags = bor(flags, format.FLAG_STORAGE)
    end
    local m = { flags = flags, sid = rand.get_rand_bytes(format.SID_LEN),
                created_at = created_at, rolling_offset = rolling_offset, idling_offset = 0 }
    local header, payload = format.seal(conf.secret, m, plaintext)
    if not header then
        return nil, payload
    end
    local _, roll, abs = remaining(conf, m, remember, self.now)
    local ttl = min(roll or 1e9, abs or 1e9)
    local name = remember and conf.remember_cookie_name or conf.cookie_name
    if conf.storage == "kong" then
        local old = self.meta and self.remembered == remember and format.b64url(self.meta.sid)
        local ok, err = storage.set(conf, format.b64url(m.sid), payload, self.now,
                                    ttl < 1e9 and ttl or nil, old)
        if not ok then
            return nil, err
        end
        self:set_cookie(name, header, remember and floor(ttl) or nil)
    else
        self:set_cookie(name, header .. payload, remember and floor(ttl) or nil)
    end
    if not remember then
        self.meta, self.remembered = m, false
    end
    return true
end

-- save(): a new session (new id, new creation time) holding the entries.
function _M:save()
    local plaintext = cjson.encode(self.entries)
    local now = self.now
    local ok, err = write(self, plaintext, false, now, 0)
    if ok and self.conf.remember then
        ok, err = write(self, plaintext, true, now, 0)
    end
    self.present = ok == true
    return ok, err
end

-- refresh(): a session from the remember cookie gets a new main session;
-- past 3/4 of its rolling timeout a session is renewed (new id, same
-- creation time); an idle one is touched (new idling offset, same payload).
function _M:refresh()
    local conf, m, now = self.conf, self.meta, self.now
    if self.remembered then
        return write(self, cjson.encode(self.entries), false, now, 0)
    end
    local idling, rolling = timeouts(conf, false)
    local age = now - m.created_at
    if rolling > 0 and age - m.rolling_offset > floor(rolling * 0.75) then
        return write(self, cjson.encode(self.entries), false, m.created_at, age)
    end
    local idle = age - m.rolling_offset - m.idling_offset
    if idling > 0 and idle >= min(60, floor(idling / 4) + 1) then
        local header = format.touch(conf.secret, m, age - m.rolling_offset)
        local payload = conf.storage == "kong" and "" or self.payload
        self:set_cookie(conf.cookie_name, header .. payload)
        m.idling_offset = age - m.rolling_offset
    end
    return true
end

-- destroy(): the cookies cleared and, for storage = kong, the rows deleted.
function _M:destroy()
    local conf = self.conf
    if conf.storage == "kong" and self.meta then
        storage.delete(conf, format.b64url(self.meta.sid))
    end
    for _, name in ipairs({ conf.cookie_name, conf.remember and conf.remember_cookie_name }) do
        if name and var["cookie_" .. name] then
            self:clear_cookie(name)
            for i = 2, MAX_CHUNKS do
                if var["cookie_" .. name .. i] then
                    self:clear_cookie(name .. i)
                end
            end
        end
    end
    self.present = false
    return true
end

local HEADER_NAMES = {
    id = "Session-Id", audience = "Session-Audience", subject = "Session-Subject",
    timeout = "Session-Timeout", ["idling-timeout"] = "Session-Idling-Timeout",
    ["rolling-timeout"] = "Session-Rolling-Timeout",
    ["absolute-timeout"] = "Session-Absolute-Timeout",
}

-- headers(list) -> {name = value}: the session's properties `list` names.
function _M:headers(list)
    local out, m = {}, self.meta
    if not list or not m or not self.present then
        return out
    end
    local idle, roll, abs = remaining(self.conf, m, self.remembered, self.now)
    local values = {
        id = format.b64url(m.sid), audience = self.conf.audience, subject = self:get_subject(),
        ["idling-timeout"] = idle, ["rolling-timeout"] = roll, ["absolute-timeout"] = abs,
        timeout = min(idle or 1e12, roll or 1e12, abs or 1e12),
    }
    if values.timeout == 1e12 then
        values.timeout = nil
    end
    for _, name in ipairs(list) do
        local v = values[name]
        if v ~= nil and v ~= cjson.null then
            out[HEADER_NAMES[name]] = v
        end
    end
    return out
end

return _M
