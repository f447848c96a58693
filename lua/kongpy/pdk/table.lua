-- kong.table: table utilities (LuaJIT's preallocation and clearing).
local new_tab = require("table.new")
local clear_tab = require("table.clear")
local tools = require("kong.tools.table")

local _M = {
    -- new(narr, nrec): a table with preallocated array and hash slots
    new = new_tab,
    -- clear(tab): empties it in place, keeping its allocated slots
    clear = clear_tab,
}

-- merge(t1, t2): a new table with the keys of t1, then those of t2.
_M.merge = tools.table_merge

return _M
