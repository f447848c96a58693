-- kong.worker_events: events between the workers of this node. post() puts
-- the event in the kongpy_cache shared dict under a sequence number; every
-- worker polls the dict every 0.1 s (one read when nothing happened) and
-- runs its handlers for the events after the last one it saw. post_local()
-- runs this worker's handlers at once. Data travels as JSON, as Kong's does.
local cjson = require("cjson.safe")

local ngx = ngx
local log = ngx.log
local ERR = ngx.ERR
local WARN = ngx.WARN
local timer_every = ngx.timer.every
local worker_pid = ngx.worker.pid

local type = type
local pairs = pairs
local pcall = pcall
local select = select
local error = error
local tostring = tostring
local tremove = table.remove

local LAST = "wev:last"
local PREFIX = "wev:"
local KEEP = 60        -- seconds an event stays readable
local INTERVAL = 0.1
local MAX_WAIT = 5     -- polls to wait for an event whose number is taken but not yet stored
local ANY = {}         -- key of the handlers of every event of a source

local _M = {}

-- source -> event (or ANY) -> array of callbacks; [ANY] -> callbacks of all
local handlers = {}
local seen
local waited = 0

local function shm()
    return ngx.shared.kongpy_cache
end

local function list_of(source, event)
    local by_source = handlers[source]
    if not by_source then
        by_source = {}
        handlers[source] = by_source
    end
    local list = by_source[event]
    if not list then
        list = {}
        by_source[event] = list
    end
    return list
end

local function run(list, data, event, source, pid)
    if not list then
        return
    end
    for i = 1, #list do
        local ok, err = pcall(list[i], data, event, source, pid)
        if not ok then
            log(ERR, "worker event handler for ", source, ":", event, " failed: ",
                tostring(err))
        end
    end
end

local function dispatch(source, event, data, pid)
    local by_source = handlers[source]
    if by_source then
        run(by_source[event], data, event, source, pid)
        run(by_source[ANY], data, event, source, pid)
    end
    local all = handlers[ANY]
    run(all and all[ANY], data, event, source, pid)
end

-- register(callback, source, event, ...): no source: every event; a source
-- and no event: every event of that source.
function _M.register(callback, source, ...)
    if type(callback) ~= "function" then
        error("callback must be a function", 2)
    end
    local n = select("#", ...)
    if n == 0 then
        local list = list_of(source or ANY, ANY)
        list[#list + 1] = callback
        return true
    end
    for i = 1, n do
        local list = list_of(source, (select(i, ...)))
        list[#list + 1] = callback
    end
    return true
end

local function remove(list, callback)
    for i = #list, 1, -1 do
        if list[i] == callback then
            tremove(list, i)
        end
    end
end

function _M.unregister(callback, source, ...)
    local by_source = handlers[source or ANY]
    if not by_source then
        return true
    end
    local n = select("#", ...)
    if n == 0 then
        for _, list in pairs(by_source) do
            remove(list, callback)
        end
        return true
    end
    for i = 1, n do
        local list = by_source[(select(i, ...))]
        if list then
            remove(list, callback)
        end
    end
    return true
end

local function check_names(source, event)
    if type(source) ~= "string" or source == "" then
        error("source is required", 3)
    end
    if type(event) ~= "string" or event == "" then
        error("event is required", 3)
    end
end

-- Runs the handlers of the events posted since the last poll.
function _M.poll()
    local dict = shm()
    local last = dict and dict:get(LAST)
    if not last or not seen or last <= seen then
        return
    end
    for i = seen + 1, last do
        local payload = dict:get(PREFIX .. i)
        if payload == nil and waited < MAX_WAIT then
            -- its poster has taken the number and not stored it yet
            waited = waited + 1
            return
        end
        waited = 0
        seen = i
        local ev = payload and cjson.decode(payload)
        if ev then
            dispatch(ev.s, ev.e, ev.d, ev.p)
        else
            log(WARN, "worker event ", i, " was lost (expired or evicted)")
        end
    end
end

-- post(source, event, data): to every worker of the node (this one at once).
function _M.post(source, event, data)
    check_names(source, event)
    local payload, err = cjson.encode({ s = source, e = event, d = data, p = worker_pid() })
    if not payload then
        return nil, "cannot encode event data: " .. tostring(err)
    end
    local dict = shm()
    local id
    id, err = dict:incr(LAST, 1, 0)
    if not id then
        return nil, "cannot post event: " .. tostring(err)
    end
    local ok
    ok, err = dict:set(PREFIX .. id, payload, KEEP)
    if not ok then
        return nil, "cannot post event: " .. tostring(err)
    end
    _M.poll()
    return true
end

-- post_local(source, event, data): this worker's handlers, before returning.
function _M.post_local(source, event, data)
    check_names(source, event)
    dispatch(source, event, data, worker_pid())
    return true
end

local function tick(premature)
    if not premature then
        _M.poll()
    end
end

function _M.init_worker()
    local dict = shm()
    seen = dict and dict:get(LAST) or 0
    local ok, err = timer_every(INTERVAL, tick)
    if not ok then
        log(ERR, "cannot start the worker events timer: ", err)
    end
end

return _M
