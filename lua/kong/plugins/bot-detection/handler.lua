-- bot-detection (Kong 3.9): 403 for User-Agents on the deny list or the
-- built-in bot list, unless the allow list matches first.
local kong = require("kongpy.pdk")
local rules = require("kong.plugins.bot-detection.rules")
local lrucache = require("resty.lrucache")

local ngx = ngx
local re_find = ngx.re.find

local type = type
local ipairs = ipairs
local setmetatable = setmetatable
local match = string.match

local ERR_MULTIPLE = "Only one User-Agent header allowed"
local CACHE_SIZE = 10000
local PASS, ALLOW, DENY, BOT = 0, 1, 2, 3

local BotDetectionHandler = {
    PRIORITY = 2500,
    VERSION = "3.9.1",
}

-- one decision cache per conf table, i.e. per configuration version
local decisions = setmetatable({}, { __mode = "k" })

local function any(list, ua)
    if list then
        for _, rx in ipairs(list) do
            if re_find(ua, rx, "jo") then
                return true
            end
        end
    end
    return false
end

local function examine(conf, ua)
    ua = match(ua, "^%s*(.-)%s*$")
    if any(conf.allow, ua) then
        return ALLOW
    end
    if any(conf.deny, ua) then
        return DENY
    end
    if re_find(ua, rules.bots, "jo") then
        return BOT
    end
    return PASS
end

function BotDetectionHandler:access(conf)
    -- every value, as Kong reads get_headers()["user-agent"]: a repeated
    -- header is refused
    local ua = kong.request.get_header_values("user-agent")
    if type(ua) == "table" then
        return kong.response.error(400, ERR_MULTIPLE)
    end
    if not ua then
        return
    end
    local cache = decisions[conf]
    if not cache then
        cache = lrucache.new(CACHE_SIZE)
        decisions[conf] = cache
    end
    local decision = cache:get(ua)
    if not decision then
        decision = examine(conf, ua)
        cache:set(ua, decision)
    end
    if decision >= DENY then
        return kong.response.error(403)
    end
end

return BotDetectionHandler
