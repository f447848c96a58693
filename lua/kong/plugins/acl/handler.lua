-- acl (Kong 3.9): allow or deny by the groups of the authenticated consumer.
local kong = require("kongpy.pdk")

local concat = table.concat
local ipairs = ipairs

local store = kong.store
local client = kong.client
local auth = kong.auth

local ERR_FORBIDDEN = "You cannot consume this service"

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

-- true when blocked, otherwise the header value to pass upstream.
local function to_be_blocked(conf, groups)
    local deny = conf.deny ~= nil
    local hit = in_groups(deny and conf.deny or conf.allow, groups)
    local blocked
    if deny then
        blocked = hit
    else
        blocked = not hit
    end
    if blocked then
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

function AclHandler:access(conf)
    local consumer = client.get_consumer()
    local authenticated = kong.ctx.shared.authenticated_groups
    local header_name = auth.CONSUMER_GROUPS
    local groups
    if not consumer then
        if not authenticated then
            return fail()
        end
        groups, header_name = authenticated, auth.AUTHENTICATED_GROUPS
    elseif authenticated and (not client.get_credential()
                              or conf.always_use_authenticated_groups) then
        groups = authenticated
    else
        groups = consumer_groups(consumer.id)
        if not groups then
            if conf.deny == nil then
                return fail()
            end
            groups = {}
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
