-- file-log (Kong 3.9): appends the request's log object to `path`, one JSON
-- object and a newline per request, written in the log phase with one
-- write(2) on a descriptor opened O_APPEND (lines of concurrent workers do
-- not interleave) and mode 0644. The descriptor is kept per worker and path,
-- unless `reopen` asks for a fresh one per request (log rotation).
local ffi = require("ffi")
local bit = require("bit")
local log_entry = require("kongpy.tools.log_entry")

local C = ffi.C
local pcall = pcall

-- another module may have declared them already
pcall(ffi.cdef, "int open(const char *pathname, int flags, int mode);")
pcall(ffi.cdef, "long write(int fd, const void *buf, unsigned long count);")
pcall(ffi.cdef, "int close(int fd);")
pcall(ffi.cdef, "char *strerror(int errnum);")

-- Linux values (<fcntl.h>, <sys/stat.h>)
local O_WRONLY, O_CREAT, O_APPEND = 0x1, 0x40, 0x400
local FLAGS = bit.bor(O_WRONLY, O_CREAT, O_APPEND)
local MODE = tonumber("644", 8)

local descriptors = {}

local FileLogHandler = {
    PRIORITY = 9,
    VERSION = require("kong.meta").version,
}

local function open(path)
    local fd = C.open(path, FLAGS, MODE)
    if fd < 0 then
        kong.log.err("failed to open the file: ", ffi.string(C.strerror(ffi.errno())))
        return nil
    end
    descriptors[path] = fd
    return fd
end

function FileLogHandler:log(conf)
    local line, err = log_entry.json(conf)
    if not line then
        kong.log.err("could not encode the log entry: ", err)
        return
    end
    line = line .. "\n"
    local path = conf.path
    local fd = descriptors[path]
    if fd and conf.reopen then
        C.close(fd)
        descriptors[path] = nil
        fd = nil
    end
    fd = fd or open(path)
    if fd and C.write(fd, line, #line) < 0 then
        kong.log.err("failed to write to the file: ", ffi.string(C.strerror(ffi.errno())))
    end
end

return FileLogHandler
