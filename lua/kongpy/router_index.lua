-- Narrows a request down to the few virtual routes that could match it, so a
-- router cache miss costs a handful of hash lookups instead of a scan over
-- every route (10,000 routes must cost about what one does).
--
-- Each virtual route lands in exactly one family:
--   * keyed by a literal path prefix: its prefix paths, or the literal head of
--     each of its regexes (`~/users/(\d+)` is keyed by `/users/`);
--   * keyed by exact host, for routes without paths whose hosts are all plain;
--   * "always": everything else (wildcard hosts, regexes without a literal head,
--     routes with neither paths nor plain hosts), checked on every miss.
-- Candidates are then checked in priority order with the full matcher.
local byte = string.byte
local sub = string.sub
local find = string.find
local sort = table.sort
local ipairs = ipairs
local pairs = pairs

local _M = {}

local HOST_EXACT = 1

-- Characters that end the literal head of a regex.
local META = {}
for c in ("\\.^$|?*+()[]{}"):gmatch(".") do
    META[byte(c)] = true
end
-- Quantifiers that make the character before them optional.
local OPTIONAL = { [byte("?")] = true, [byte("*")] = true, [byte("{")] = true }

-- The literal text every match of `rx` starts with ("" when unknown).
local function literal_head(rx)
    if find(rx, "|", 1, true) then
        -- an alternation anywhere may start with something else entirely
        return ""
    end
    local i, n = 1, #rx
    while i <= n and not META[byte(rx, i)] do
        i = i + 1
    end
    local head = sub(rx, 1, i - 1)
    if i <= n and OPTIONAL[byte(rx, i)] and #head > 0 then
        head = sub(head, 1, -2)
    end
    return head
end
_M.literal_head = literal_head

local function push(t, key, vr)
    local list = t[key]
    if not list then
        t[key] = { vr }
        return
    end
    list[#list + 1] = vr
end

local function path_keys(vr)
    if vr.prefixes then
        return vr.prefixes
    end
    local keys = {}
    for i, rx in ipairs(vr.regexes) do
        local head = literal_head(rx)
        if head == "" then
            return nil
        end
        keys[i] = head
    end
    return keys
end

local function plain_hosts(vr)
    if not vr.hosts then
        return nil
    end
    for _, h in ipairs(vr.hosts) do
        if h.kind ~= HOST_EXACT then
            return nil
        end
    end
    return vr.hosts
end

-- Where a virtual route is filed: path keys, else plain hosts, else nil
-- (the "always" family).
local function family(vr)
    -- expression routes come with their keys (kongpy.expressions.index_hint)
    local keys = vr.index_paths or ((vr.prefixes or vr.regexes) and path_keys(vr))
    if keys then
        return keys
    end
    return nil, not vr.regexes and (vr.index_hosts or plain_hosts(vr)) or nil
end

local function file(index, vr)
    local keys, hosts = family(vr)
    local by_len = index.by_len
    if keys then
        for _, key in ipairs(keys) do
            local l = #key
            if not by_len[l] then
                by_len[l] = {}
                index.lens[#index.lens + 1] = l
            end
            push(by_len[l], key, vr)
        end
    elseif hosts then
        for _, h in ipairs(hosts) do
            push(index.by_host, h.value, vr)
        end
    else
        index.always[#index.always + 1] = vr
    end
end

-- vroutes: sorted by priority; each gets its rank.
function _M.build(vroutes)
    local index = { by_len = {}, lens = {}, by_host = {}, always = {} }
    for rank, vr in ipairs(vroutes) do
        vr.rank = rank
        file(index, vr)
    end
    sort(index.lens)
    return index
end

-- a shallow copy (LuaJIT's table.clone: no metatable)
local copy = require("table.clone")

local function without(list, gone)
    local out = {}
    for _, vr in ipairs(list) do
        if not gone[vr] then
            out[#out + 1] = vr
        end
    end
    return out
end

-- A copy of `index` without the virtual routes of `gone` (a set) and with
-- those of `added` (ranked already); `index` itself is left untouched: only
-- the maps and lists a change reaches are copied. Candidates are sorted by
-- rank, so the order within a list does not matter.
function _M.update(index, gone, added)
    local new = { by_len = copy(index.by_len), lens = copy(index.lens),
                  by_host = copy(index.by_host), always = index.always }
    local copied = {}
    local function own(t)
        if not copied[t] then
            t = copy(t)
            copied[t] = true
        end
        return t
    end
    local function drop(map, key)
        local list = map[key]
        if list then
            list = without(list, gone)
            map[key] = list[1] and list or nil
        end
    end
    for vr in pairs(gone) do
        local keys, hosts = family(vr)
        if keys then
            for _, key in ipairs(keys) do
                local l = #key
                local map = new.by_len[l] and own(new.by_len[l])
                if map then
                    new.by_len[l] = map
                    drop(map, key)
                end
            end
        elseif hosts then
            for _, h in ipairs(hosts) do
                drop(new.by_host, h.value)
            end
        elseif new.always == index.always then
            new.always = without(index.always, gone)
        end
    end
    for _, vr in ipairs(added) do
        local keys, hosts = family(vr)
        if keys then
            for _, key in ipairs(keys) do
                local l = #key
                if new.by_len[l] then
                    new.by_len[l] = own(new.by_len[l])
                    local list = new.by_len[l][key]
                    new.by_len[l][key] = list and own(list) or nil
                end
            end
        elseif hosts then
            for _, h in ipairs(hosts) do
                local list = new.by_host[h.value]
                new.by_host[h.value] = list and own(list) or nil
            end
        elseif new.always == index.always then
            new.always = copy(index.always)
        end
        file(new, vr)
    end
    sort(new.lens)
    return new
end

local function by_rank(a, b)
    return a.rank < b.rank
end

local function append(out, n, list)
    for i = 1, #list do
        out[n + i] = list[i]
    end
    return n + #list
end

-- The candidate virtual routes for (path, host), in priority order.
function _M.candidates(index, path, host)
    local out, n = {}, 0
    local plen = #path
    local by_len = index.by_len
    for _, l in ipairs(index.lens) do
        if l > plen then
            break
        end
        local list = by_len[l][sub(path, 1, l)]
        if list then
            n = append(out, n, list)
        end
    end
    local list = index.by_host[host]
    if list then
        n = append(out, n, list)
    end
    n = append(out, n, index.always)
    if n > 1 then
        sort(out, by_rank)
    end
    return out
end

return _M
