-- kong.tools.queue: Kong 3.9's batching queue for plugins that send data
-- elsewhere (http-log, statsd, opentelemetry, zipkin, custom plugins).
--
-- One queue per name per worker, drained by one timer that lives while the
-- queue holds entries. Enqueueing never yields and never does I/O, so the log
-- phase pays a table write and a semaphore post; while a batch coalesces,
-- the timer sleeps until it is full or due rather than waking up for every
-- entry (Kong's does: a coroutine resume per request). A batch closes when
-- it holds max_batch_size entries or max_coalescing_delay seconds after its
-- first entry; a failing batch is retried with exponential back-off until
-- max_retry_time, then dropped. A full queue drops its oldest entries. On a
-- graceful stop the timer stops coalescing and sends what it holds (nginx
-- lets running timers finish within worker_shutdown_timeout).
--
-- Beyond Kong: every drop and loss is counted per queue (Queue.stats()), and
-- a handler failing again and again is reported at most once per
-- WARN_INTERVAL seconds per queue, with the count of reports held back.
local semaphore = require("ngx.semaphore")
local table_new = require("table.new")

local ngx = ngx
local now = ngx.now
local sleep = ngx.sleep
local timer_at = ngx.timer.at
local worker_exiting = ngx.worker.exiting
local null = ngx.null

local type = type
local pairs = pairs
local ipairs = ipairs
local setmetatable = setmetatable
local assert = assert
local select = select
local unpack = unpack
local tostring = tostring
local min = math.min
local format = string.format

local CAPACITY_WARNING_THRESHOLD = 0.8
-- the coalescing wait wakes up this often to notice a worker shutdown
local COALESCE_POLL_TIME = 1.0
-- below this much coalescing budget left, the batch goes at once
local COALESCE_MIN_TIME = 0.05
local WARN_INTERVAL = 10

local ERR_NIL = "entry must be a non-nil Lua value"

local Queue = {}
local Queue_mt = { __index = Queue }

local queues = {}
local counters = {}

local function log(level, queue_name, fmt, ...)
    local message = "queue " .. queue_name .. ": " .. fmt
    if select("#", ...) > 0 then
        message = format(message, ...)
    end
    local klog = kong and kong.log
    if klog then
        return klog[level](message)
    end
    ngx.log(level == "err" and ngx.ERR or ngx.WARN, message)
end

function Queue:log_debug(...) return log("debug", self.name, ...) end
function Queue:log_info(...) return log("info", self.name, ...) end
function Queue:log_warn(...) return log("warn", self.name, ...) end
function Queue:log_err(...) return log("err", self.name, ...) end

local function stats_of(name)
    local s = counters[name]
    if not s then
        s = { dropped = 0, lost = 0, sent = 0, failed_attempts = 0 }
        counters[name] = s
    end
    return s
end

function Queue:count()
    return self.back - self.front
end

function Queue:is_full()
    return self:count() >= self.max_entries
end

local function delete_frontmost(self)
    local entry = self.entries[self.front]
    if self.max_bytes and type(entry) == "string" then
        self.bytes_queued = self.bytes_queued - #entry
    end
    self.entries[self.front] = nil
    self.front = self.front + 1
    if self.front == self.back then
        self.front = 1
        self.back = 1
    end
end

-- The timer takes one semaphore unit per entry it batches; dropping an entry
-- takes its unit too, so the semaphore always counts what is queued.
local function drop_oldest(self)
    self.semaphore:wait(0)
    delete_frontmost(self)
    self.stats.dropped = self.stats.dropped + 1
end

-- A failing handler is reported at most once per WARN_INTERVAL per queue
-- name: the figures live with the name's counters, since a queue that
-- empties is dropped and a new one made for the next entry.
local function warn_failure(self, err)
    local t = now()
    local s = self.stats
    if t - (s.warned_at or 0) >= WARN_INTERVAL then
        local held = s.warns_held or 0
        self:log_warn("handler could not process entries: %s%s", tostring(err),
                      held > 0 and format(" (%d similar messages suppressed)", held) or "")
        s.warned_at = t
        s.warns_held = 0
    else
        s.warns_held = (s.warns_held or 0) + 1
    end
end

-- Calls the handler with one batch until it succeeds or max_retry_time has
-- passed; returns whether it succeeded.
local function deliver(self, batch)
    local started = now()
    local retries = 0
    local stats = self.stats
    while true do
        local ok, err = self.handler(self.handler_conf, batch)
        if ok then
            stats.sent = stats.sent + #batch
            return true
        end
        stats.failed_attempts = stats.failed_attempts + 1
        if not err then
            self:log_err("handler returned falsy value but no error information")
        end
        if now() - started > self.max_retry_time then
            stats.lost = stats.lost + #batch
            self:log_err("could not send entries due to max_retry_time exceeded. "
                         .. "%d queue entries were lost", #batch)
            return false
        end
        warn_failure(self, err)
        sleep(min(self.max_retry_delay, 2 ^ retries * self.initial_retry_delay))
        retries = retries + 1
    end
end

function Queue:process_once()
    local ok, err = self.semaphore:wait(0)
    if not ok then
        if err ~= "timeout" then
            self:log_err("error waiting for semaphore: %s", err)
        end
        -- entries counted but not posted cannot happen; leave the loop
        return false
    end
    local first_at = now()
    local full = self.full
    -- a post the previous batch's wait did not take
    while full:count() > 0 do
        full:wait(0)
    end
    while self:count() < self.max_batch_size and not worker_exiting() do
        local left = self.max_coalescing_delay - (now() - first_at)
        if left < COALESCE_MIN_TIME then
            break
        end
        self.coalescing = true
        ok, err = full:wait(min(left, COALESCE_POLL_TIME))
        self.coalescing = false
        if not ok and err ~= "timeout" then
            self:log_err("could not wait for semaphore: %s", err)
            break
        end
    end
    -- the batch's units past the first; entries dropped while coalescing
    -- took their own
    local taken = min(self:count(), self.max_batch_size)
    if taken == 0 then
        return true
    end
    for _ = 2, taken do
        self.semaphore:wait(0)
    end
    -- the batch leaves the queue before it is sent: what is dropped while
    -- the handler runs is always a waiting entry, never one of the batch
    local batch = { unpack(self.entries, self.front, self.front + taken - 1) }
    for _ = 1, taken do
        delete_frontmost(self)
    end
    deliver(self, batch)
    if self.queue_full then
        self:log_info("queue resumed processing")
        self.queue_full = false
    end
    return true
end

local function run(premature, self)
    -- a premature start (the worker stopping before the timer ran) still
    -- sends what the queue holds
    local _ = premature
    while self:count() > 0 do
        if not self:process_once() then
            break
        end
    end
    queues[self.name] = nil
end

local function get_or_create(queue_conf, handler, handler_conf)
    local name = queue_conf.name
    local queue = queues[name]
    if queue then
        -- the newest configuration seen wins for the handler's conf
        queue.handler_conf = handler_conf
        queue.handler = handler
        return queue
    end
    queue = {
        handler = handler,
        handler_conf = handler_conf,
        semaphore = semaphore.new(),
        -- posted once when a batch being coalesced fills up
        full = semaphore.new(),
        coalescing = false,
        bytes_queued = 0,
        entries = table_new(32, 0),
        front = 1,
        back = 1,
        stats = stats_of(name),
    }
    for option, value in pairs(queue_conf) do
        if value ~= null then
            queue[option] = value
        end
    end
    queue.max_batch_size = queue.max_batch_size or 1
    queue.max_coalescing_delay = queue.max_coalescing_delay or 1
    queue.max_entries = queue.max_entries or 10000
    queue.max_retry_time = queue.max_retry_time or 60
    queue.initial_retry_delay = queue.initial_retry_delay or 0.01
    queue.max_retry_delay = queue.max_retry_delay or 60
    queue = setmetatable(queue, Queue_mt)
    local ok, err = timer_at(0, run, queue)
    if not ok then
        return nil, "could not start the queue's timer: " .. tostring(err)
    end
    queues[name] = queue
    return queue
end

local function enqueue(self, entry)
    local count = self:count()
    if count >= self.max_entries * CAPACITY_WARNING_THRESHOLD then
        if not self.warned then
            self:log_warn("queue at %s%% capacity", CAPACITY_WARNING_THRESHOLD * 100)
            self.warned = true
        end
    else
        self.warned = nil
    end
    if count >= self.max_entries then
        if not self.queue_full then
            self.queue_full = true
            self:log_err("queue full, dropping old entries until processing is successful "
                         .. "again")
        end
        drop_oldest(self)
    end
    if self.max_bytes then
        if type(entry) ~= "string" then
            self:log_err("queuing non-string entry to a queue that has queue.max_bytes set, "
                         .. "capacity monitoring will not be correct")
        else
            if #entry > self.max_bytes then
                local message = format("string to be queued is longer (%d bytes) than the "
                                       .. "queue's max_bytes (%d bytes)", #entry, self.max_bytes)
                self:log_err(message)
                self.stats.dropped = self.stats.dropped + 1
                return nil, message
            end
            local dropped = 0
            while self:count() > 0 and self.bytes_queued + #entry > self.max_bytes do
                drop_oldest(self)
                dropped = dropped + 1
            end
            if dropped > 0 then
                self.queue_full = true
                self:log_err("byte capacity exceeded, %d queue entries were dropped", dropped)
            end
            self.bytes_queued = self.bytes_queued + #entry
        end
    end
    self.entries[self.back] = entry
    self.back = self.back + 1
    self.semaphore:post()
    if self.coalescing and self.back - self.front >= self.max_batch_size then
        self.coalescing = false
        self.full:post()
    end
    return true
end

-- concurrency_limit = -1: no queue, every entry gets a timer of its own
-- (Kong's behaviour), still retried per the queue's parameters.
local function send_alone(premature, queue_conf, handler, handler_conf, entry)
    local _ = premature
    local once = setmetatable({
        name = queue_conf.name,
        handler = handler,
        handler_conf = handler_conf,
        max_retry_time = queue_conf.max_retry_time or 60,
        initial_retry_delay = queue_conf.initial_retry_delay or 0.01,
        max_retry_delay = queue_conf.max_retry_delay or 60,
        stats = stats_of(queue_conf.name),
    }, Queue_mt)
    deliver(once, { entry })
end

function Queue.enqueue(queue_conf, handler, handler_conf, value)
    assert(type(queue_conf) == "table", "arg #1 (queue_conf) must be a table")
    assert(type(handler) == "function", "arg #2 (handler) must be a function")
    assert(handler_conf == nil or type(handler_conf) == "table",
           "arg #3 (handler_conf) must be a table")
    assert(type(queue_conf.name) == "string", "arg #1 (queue_conf) must include a name")
    if value == nil then
        return nil, ERR_NIL
    end
    if queue_conf.concurrency_limit == -1 then
        local ok, err = timer_at(0, send_alone, queue_conf, handler, handler_conf, value)
        if not ok then
            stats_of(queue_conf.name).dropped = stats_of(queue_conf.name).dropped + 1
            return nil, "failed to create timer: " .. tostring(err)
        end
        return true
    end
    local queue, err = get_or_create(queue_conf, handler, handler_conf)
    if not queue then
        stats_of(queue_conf.name).dropped = stats_of(queue_conf.name).dropped + 1
        log("err", queue_conf.name, "%s", err)
        return nil, err
    end
    return enqueue(queue, value)
end

function Queue.is_full(queue_conf)
    local queue = queues[queue_conf.name]
    return queue ~= nil and queue:is_full()
end

function Queue.can_enqueue(queue_conf, entry)
    local queue = queues[queue_conf.name]
    if not queue then
        return true
    end
    if queue:is_full() then
        return false
    end
    if queue.max_bytes and type(entry) == "string" then
        return queue.bytes_queued + #entry <= queue.max_bytes
    end
    return true
end

-- Deprecated plugin fields (queue_size, flush_timeout, batch_span_count,
-- batch_flush_delay) still set the queue when given a non-default value; the
-- schema warns about them when the configuration is stored.
local LEGACY = {
    { "queue_size", 1, "max_batch_size" },
    { "flush_timeout", 2, "max_coalescing_delay" },
    { "batch_span_count", 200, "max_batch_size" },
    { "batch_flush_delay", 3, "max_coalescing_delay" },
}

function Queue.get_plugin_params(plugin_name, config, queue_name)
    local params = {}
    for k, v in pairs(config.queue or {}) do
        params[k] = v
    end
    for _, legacy in ipairs(LEGACY) do
        local value = config[legacy[1]]
        if value ~= nil and value ~= null and value ~= legacy[2] then
            params[legacy[3]] = value
        end
    end
    if not params.name then
        params.name = queue_name or (kong and kong.plugin.get_id())
    end
    params.log_tag = plugin_name
    return params
end

-- Kong's older name for get_plugin_params without the plugin's name.
function Queue.get_params(config)
    return Queue.get_plugin_params(nil, config)
end

function Queue.exists(name)
    return queues[name] ~= nil
end

-- For tests: whether the queue still holds entries.
function Queue._exists(name)
    local queue = queues[name]
    return queue ~= nil and queue:count() > 0
end

-- Per queue name (this worker): entries sent, dropped (queue full, too
-- large, no timer) and lost (max_retry_time exceeded), failed attempts, and
-- what is queued now.
function Queue.stats()
    local out = {}
    for name, s in pairs(counters) do
        local queue = queues[name]
        out[name] = {
            sent = s.sent,
            dropped = s.dropped,
            lost = s.lost,
            failed_attempts = s.failed_attempts,
            queued = queue and queue:count() or 0,
        }
    end
    return out
end

return Queue
