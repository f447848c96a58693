-- A multipart/form-data body as lua-multipart (Kong's dependency) edits it:
-- the parts in order, each with its header lines and value; `get`,
-- `delete` and `set_simple` by field name; `tostring` writes it back with
-- the request's boundary. Parts that are not touched keep their headers and
-- bytes (files stay files).
local re_match = ngx.re.match

local setmetatable = setmetatable
local pairs = pairs
local ipairs = ipairs
local find = string.find
local sub = string.sub
local gmatch = string.gmatch
local remove = table.remove
local concat = table.concat

local _M = {}

local Parts = {}
Parts.__index = Parts

local function boundary_of(ctype)
    local m = re_match(ctype or "", [[boundary=(?:"([^"]+)"|([^\s;]+))]], "joi")
    return m and (m[1] or m[2]) or nil
end

local function part_name(headers)
    for _, line in ipairs(headers) do
        local m = re_match(line, [[^content-disposition:.*?\bname="([^"]*)"]], "joi")
        if m then
            return m[1]
        end
    end
end

local function split(body, boundary, data, indexes)
    local delim = "--" .. boundary
    local pos = find(body, delim, 1, true)
    while pos do
        local start = pos + #delim
        if sub(body, start, start + 1) == "--" then
            break
        end
        local next_pos = find(body, "\r\n" .. delim, start, true)
        if not next_pos then
            break
        end
        -- the part: "\r\n" headers "\r\n\r\n" value, up to the next "\r\n--boundary"
        local chunk = sub(body, start + 2, next_pos - 1)
        local head_end = find(chunk, "\r\n\r\n", 1, true)
        local headers, value = {}, chunk
        if head_end then
            for line in gmatch(sub(chunk, 1, head_end - 1), "[^\r\n]+") do
                headers[#headers + 1] = line
            end
            value = sub(chunk, head_end + 4)
        elseif sub(chunk, 1, 2) == "\r\n" then
            value = sub(chunk, 3)
        end
        local name = part_name(headers)
        data[#data + 1] = { name = name, headers = headers, value = value }
        if name then
            indexes[name] = #data
        end
        pos = next_pos + 2
    end
end

function _M.parse(body, ctype)
    local self = setmetatable({ data = {}, indexes = {}, boundary = boundary_of(ctype) or "" },
                              Parts)
    if self.boundary ~= "" and body ~= "" then
        split(body, self.boundary, self.data, self.indexes)
    end
    return self
end

function Parts:get(name)
    local i = self.indexes[name]
    return i and self.data[i] or nil
end

function Parts:delete(name)
    local i = self.indexes[name]
    if not i then
        return
    end
    remove(self.data, i)
    self.indexes[name] = nil
    for k, v in pairs(self.indexes) do
        if v > i then
            self.indexes[k] = v - 1
        end
    end
end

function Parts:set_simple(name, value)
    local part = { name = name, value = value,
                   headers = { 'Content-Disposition: form-data; name="' .. name .. '"' } }
    local i = self.indexes[name]
    if not i then
        i = #self.data + 1
        self.indexes[name] = i
    end
    self.data[i] = part
end

function Parts:tostring()
    local out = {}
    for _, part in ipairs(self.data) do
        if part.value then
            out[#out + 1] = "--" .. self.boundary .. "\r\n"
            for _, line in ipairs(part.headers) do
                out[#out + 1] = line .. "\r\n"
            end
            out[#out + 1] = "\r\n" .. part.value .. "\r\n"
        end
    end
    if #out == 0 then
        return ""
    end
    out[#out + 1] = "--" .. self.boundary .. "--\r\n"
    return concat(out)
end

return _M
