-- Puts the virtual routes of a full build in priority order (kongpy.router_build's
-- `before`) without a comparison sort over all of them: table.sort calls its Lua
-- comparator from C (never compiled), which cost 20-45 ms for 10,000 routes.
--
-- `before` compares the fields of a virtual route's class first (expression
-- routes: their priority; the others: weight, plain hosts, header count,
-- regex, regex_priority, prefix length, port hosts), then the route id
-- (greater first), then `seq`. Routes come in ascending id order (the
-- snapshot's order), so the virtual routes of one class arrive in ascending id
-- order too: reversed, they are in `before`'s order. A class whose ids do
-- not strictly ascend (routes in another order, an id twice) is sorted with
-- `before`; so is everything when a class field cannot key a table.
local sort = table.sort
local ipairs = ipairs
local tostring = tostring

local _M = {}

local function level(t, k)
    local v = t[k]
    if not v then
        v = {}
        t[k] = v
    end
    return v
end

-- The table holding the class of `vr` and its key there; nil for a field
-- that cannot key a table (NaN).
local function slot(classes, vr)
    if vr.expr then
        local p = vr.priority
        if p ~= p then
            return nil
        end
        return classes.expr, p
    end
    local rp, len = vr.regex_priority, vr.length
    if rp ~= rp or len ~= len then
        return nil
    end
    local flags = vr.weight * 8 + (vr.plain_hosts and 4 or 0) + (vr.is_regex and 2 or 0)
                  + (vr.port_hosts and 1 or 0)
    return level(level(level(classes.plain, flags), vr.header_count), rp), len
end

local function ascending(list)
    local prev = tostring(list[1].entry.id)
    for i = 2, #list do
        local id = tostring(list[i].entry.id)
        if prev >= id then
            return false
        end
        prev = id
    end
    return true
end

-- Sorts `vroutes` in place, as sort(vroutes, before) would.
function _M.sort(vroutes, before)
    local classes = { expr = {}, plain = {} }
    local order = {}
    for i = 1, #vroutes do
        local vr = vroutes[i]
        local t, key = slot(classes, vr)
        if not t then
            sort(vroutes, before)
            return vroutes
        end
        local list = t[key]
        if not list then
            list = {}
            t[key] = list
            order[#order + 1] = list
        end
        list[#list + 1] = vr
    end
    -- members of two classes differ in a field compared before the id
    sort(order, function(a, b) return before(a[1], b[1]) end)
    local n = 0
    for _, list in ipairs(order) do
        local count = #list
        if ascending(list) then
            for i = count, 1, -1 do
                n = n + 1
                vroutes[n] = list[i]
            end
        else
            sort(list, before)
            for i = 1, count do
                vroutes[n + i] = list[i]
            end
            n = n + count
        end
    end
    return vroutes
end

return _M
