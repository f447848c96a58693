-- acl (Kong 3.9): allow or deny by the groups of the authenticated consumer.
local kong = require("kongpy.pdk")

local ngx = ngx
local concat = table.concat
local ipairs = ipairs
local type = type

local store = kong.store
local client = kong.client
local auth = kong.auth

local ERR_FORBIDDEN = "You cannot consume this service"
local WARN_GROUPS = "invalid authenticated_groups, a table was expected"
local EMPTY = {}

local AclHandler = {
    PRIORITY = 950,
    VERSION = "3.9.1",
    INDEXES = { { "acls", "consumer", true } },
}

-- The names of the consumer's groups (nil when it has none).
local function consumer_groups(consumer_id)
    local rows = store.index("acls", "consumer", true)[consumer_id]
    if not rows then
        return nil
    end
    local groups = {}
    for _, row in ipairs(rows) do
        groups[#groups + 1] = row.group
    end
    return groups
end

local function in_groups(wanted, groups)
    for _, w in ipairs(wanted) do
        for _, g in ipairs(groups) do
            if w == g then
                return true
            end
        end
    end
    return false
end

-- As Kong, a deny list counts only when it has an entry: `allow` with
-- `deny = []` is an allow list.
local function is_deny(conf)
    local deny = conf.deny
    return deny ~= nil and deny[1] ~= nil
end

-- true when blocked, otherwise the header value to pass upstream.
local function to_be_blocked(conf, groups)
    local hit
    if is_deny(conf) then
        hit = in_groups(conf.deny, groups)
    else
        hit = not in_groups(conf.allow or EMPTY, groups)
    end
    if hit then
        return true
    end
    return conf.hide_groups_header and "" or concat(groups, ", ")
end

local function fail()
    if client.get_credential() then
        return kong.response.error(403, ERR_FORBIDDEN)
    end
    return kong.response.error(401)
end

-- Groups an authentication plugin gave the request: kong.ctx.shared first,
-- then ngx.ctx (where older plugins such as session put them), as Kong.
local function authenticated_groups()
    local groups = kong.ctx.shared.authenticated_groups
    if type(groups) == "table" then
        return groups
    end
    groups = ngx.ctx.authenticated_groups
    if groups == nil then
        return nil
    end
    if type(groups) ~= "table" then
        kong.log.warn(WARN_GROUPS)
        return nil
    end
    return groups
end

function AclHandler:access(conf)
    local consumer = client.get_consumer()
    local groups, header_name
    if not consumer then
        groups = authenticated_groups()
        if not groups then
            return fail()
        end
        header_name = auth.AUTHENTICATED_GROUPS
    else
        -- authenticated groups replace those of a consumer that came without
        -- a credential (anonymous), and of any with always_use_authenticated_groups
        if not client.get_credential() or conf.always_use_authenticated_groups then
            groups = authenticated_groups()
        end
        if groups then
            header_name = auth.AUTHENTICATED_GROUPS
        else
            header_name = auth.CONSUMER_GROUPS
            groups = consumer_groups(consumer.id)
            if not groups then
                if not is_deny(conf) then
                    return fail()
                end
                groups = EMPTY
            end
        end
    end
    local result = to_be_blocked(conf, groups)
    if result == true then
        return kong.response.error(403, ERR_FORBIDDEN)
    end
    if not conf.hide_groups_header and result then
        kong.service.request.set_header(header_name, result)
    end
end

return AclHandler
