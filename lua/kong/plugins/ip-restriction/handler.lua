-- ip-restriction (Kong 3.9): deny, then allow, by the client address after
-- real_ip processing (Kong's binary_remote_addr).
local kong = require("kongpy.pdk")
local cidr = require("kongpy.tools.cidr")
local lrucache = require("resty.lrucache")

local setmetatable = setmetatable
local error = error

local client = kong.client

local DECISIONS = 1000
local PASS, BLOCK = 1, 2
local ERR_UNIX = "Cannot identify the client IP address, unix domain sockets are not supported."
local ERR_NOT_ALLOWED = "IP address not allowed: "
local ERR_COMPILE = "ip-restriction: "

local IpRestrictionHandler = {
    PRIORITY = 990,
    VERSION = "3.9.1",
}

-- conf tables live for one configuration version: compiled lists and the
-- per-address decisions are dropped with them.
local compiled = setmetatable({}, { __mode = "k" })

local function compile_list(list)
    if not list or #list == 0 then
        return nil
    end
    local m, err = cidr.compile(list)
    if not m then
        error(ERR_COMPILE .. err)
    end
    return m
end

local function state_of(conf)
    local st = compiled[conf]
    if not st then
        st = {
            deny = compile_list(conf.deny),
            allow = compile_list(conf.allow),
            decisions = lrucache.new(DECISIONS),
        }
        compiled[conf] = st
    end
    return st
end

local function decide(st, addr)
    if st.deny and cidr.contains(st.deny, addr) then
        return BLOCK
    end
    if st.allow and not cidr.contains(st.allow, addr) then
        return BLOCK
    end
    return PASS
end

-- status, message when the client is refused; nothing when it may pass
local function refusal(conf)
    local addr = client.get_forwarded_ip()
    if not addr or not cidr.parse(addr) then
        kong.log.warn(ERR_UNIX)
        return 403, ERR_UNIX
    end
    local st = state_of(conf)
    local decision = st.decisions:get(addr)
    if not decision then
        decision = decide(st, addr)
        st.decisions:set(addr, decision)
    end
    if decision == BLOCK then
        local message = conf.message or ERR_NOT_ALLOWED .. addr
        kong.log.warn(message)
        return conf.status or 403, message
    end
end

function IpRestrictionHandler:access(conf)
    local status, message = refusal(conf)
    if status then
        return kong.response.error(status, message)
    end
end

-- stream connections (tcp, tls): the same decision, before proxying; Kong
-- writes {"status": ..., "message": ...} to the client, then closes
function IpRestrictionHandler:preread(conf)
    local status, message = refusal(conf)
    if status then
        return kong.response.exit(status, { status = status, message = message })
    end
end

return IpRestrictionHandler
