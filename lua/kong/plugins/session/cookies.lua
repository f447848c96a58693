-- The session plugin's cookies: Set-Cookie lines with the configured
-- attributes, split over `<name>`, `<name>2` … `<name>9` so that no line
-- passes 4096 bytes, and read back joined.
local ngx = ngx
local var = ngx.var
local time = ngx.time
local cookie_time = ngx.cookie_time
local sub = string.sub
local concat = table.concat

local MAX_COOKIE = 4096
local MAX_CHUNKS = 9

local _M = {}

-- The cookie `name`, its chunks `name2` … `name9` appended while shorter
-- than `want` characters.
function _M.read(name, want)
    local value = var["cookie_" .. name]
    if not value or not want then
        return value
    end
    local parts, n = { value }, #value
    for i = 2, MAX_CHUNKS do
        if n >= want then
            break
        end
        local part = var["cookie_" .. name .. i]
        if not part then
            break
        end
        parts[i], n = part, n + #part
    end
    return concat(parts)
end

local function attributes(conf, max_age)
    local a = "; Path=" .. conf.cookie_path
    if conf.cookie_domain then
        a = a .. "; Domain=" .. conf.cookie_domain
    end
    if max_age then
        a = a .. "; Expires=" .. cookie_time(time() + max_age) .. "; Max-Age=" .. max_age
    end
    if conf.cookie_same_site ~= "Default" then
        a = a .. "; SameSite=" .. conf.cookie_same_site
    end
    if conf.cookie_http_only then
        a = a .. "; HttpOnly"
    end
    if conf.cookie_secure then
        a = a .. "; Secure"
    end
    return a
end

-- Queues `name=value` (split over name, name2 … when a Set-Cookie line
-- would pass 4096 bytes) and the removal of chunks it no longer needs.
function _M.set(cookies, conf, name, value, max_age)
    local attrs = attributes(conf, max_age)
    local room = MAX_COOKIE - #name - 2 - #attrs
    local n = 1
    while true do
        local chunk = sub(value, (n - 1) * room + 1, n * room)
        cookies[#cookies + 1] = (n == 1 and name or name .. n) .. "=" .. chunk .. attrs
        if n * room >= #value or n == MAX_CHUNKS then
            break
        end
        n = n + 1
    end
    for i = n + 1, MAX_CHUNKS do
        if var["cookie_" .. name .. i] then
            _M.clear(cookies, conf, name .. i)
        end
    end
end

function _M.clear(cookies, conf, name)
    cookies[#cookies + 1] = name .. "=; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0"
                            .. attributes(conf)
end

return _M
