-- A Redis connection from a plugin's `redis` record (Kong's shape: host, port,
-- timeout, username, password, database, ssl, ssl_verify, server_name) over
-- cosockets, through Debian's lua-nginx-redis, kept in a keepalive pool.
local redis = require("nginx.redis")

local ngx = ngx
local sha1_bin = ngx.sha1_bin
local rawget = rawget
local setmetatable = setmetatable
local tostring = tostring
local fmt = string.format
local byte = string.byte
local gsub = string.gsub
local sub = string.sub

local KEEPALIVE_MS = 60000
local POOL_SIZE = 100
local ERR_NO_HOST = "redis host is not configured"

local _M = {}

-- A pooled connection is reused without AUTH, SELECT or handshake, so the
-- pool is named by everything those checked: a configuration that verifies
-- the server's name, or holds other credentials, never rides a connection
-- set up for another (Kong names its pools by host, port and database only).
local function pool_name(opts)
    local tls = "plain"
    if opts.ssl then
        tls = opts.ssl_verify and "tls-verify=" .. tostring(opts.server_name or opts.host)
              or "tls"
    end
    local password = opts.password
    return fmt("redis:%s:%s:%s:%s:%s:%s", opts.host, opts.port or 6379, opts.database or 0,
               tls, opts.username or "", password and ngx.md5(password) or "")
end

-- connect()'s options per `redis` record (a plugin's configuration is a new
-- table whenever it changes): the pool name is built once, not per request.
local pools = setmetatable({}, { __mode = "k" })

local function pool_of(opts)
    local p = pools[opts]
    if not p then
        p = { pool = pool_name(opts), pool_size = POOL_SIZE }
        pools[opts] = p
    end
    return p
end

-- Authenticates and selects the database on a fresh connection only: a
-- reused one was set up when it was first opened (the pool name says how).
local function setup(red, opts)
    if opts.ssl then
        local sock = rawget(red, "_sock")
        local ok, err = sock:sslhandshake(nil, opts.server_name or opts.host,
                                          opts.ssl_verify and true or false)
        if not ok then
            return nil, "TLS handshake failed: " .. tostring(err)
        end
    end
    if opts.password and opts.password ~= "" then
        local ok, err
        if opts.username and opts.username ~= "" then
            ok, err = red:auth(opts.username, opts.password)
        else
            ok, err = red:auth(opts.password)
        end
        if not ok then
            return nil, "authentication failed: " .. tostring(err)
        end
    end
    local db = opts.database or 0
    if db ~= 0 then
        local ok, err = red:select(db)
        if not ok then
            return nil, "cannot select database: " .. tostring(err)
        end
    end
    return true
end

-- connect(opts) -> red or nil, err
function _M.connect(opts)
    if not opts or not opts.host then
        return nil, ERR_NO_HOST
    end
    local red, err = redis:new()
    if not red then
        return nil, err
    end
    red:set_timeout(opts.timeout or 2000)
    local ok
    ok, err = red:connect(opts.host, opts.port or 6379, pool_of(opts))
    if not ok then
        return nil, "cannot connect to redis: " .. tostring(err)
    end
    if (red:get_reused_times() or 0) == 0 then
        ok, err = setup(red, opts)
        if not ok then
            red:close()
            return nil, err
        end
    end
    return red
end

function _M.release(red)
    local ok = red:set_keepalive(KEEPALIVE_MS, POOL_SIZE)
    if not ok then
        red:close()
    end
end

local function hex(s)
    return (gsub(s, ".", function(c) return fmt("%02x", byte(c)) end))
end

-- A script object: its source and SHA1 (for EVALSHA).
function _M.script(source)
    return { source = source, sha = hex(sha1_bin(source)) }
end

-- Runs a script by EVALSHA, loading it with EVAL when the server lacks it.
function _M.eval(red, script, nkeys, ...)
    local res, err = red:evalsha(script.sha, nkeys, ...)
    if not res and err and sub(err, 1, 8) == "NOSCRIPT" then
        res, err = red:eval(script.source, nkeys, ...)
    end
    return res, err
end

return _M
