-- kong.tools.gzip (Kong 3.9): gzip a string and back, through the system's
-- zlib (FFI; Kong uses lua-ffi-zlib over the same library).
-- inflate_gzip(data) and deflate_gzip(data) return the result, or nil and
-- an error. inflate_gzip also reads several gzip members in a row.
local ffi = require("ffi")

local ffi_new = ffi.new
local ffi_str = ffi.string
local ffi_cast = ffi.cast
local concat = table.concat
local tostring = tostring
local type = type
local pcall = pcall

ffi.cdef([[
typedef struct z_stream_s {
    const unsigned char *next_in;
    unsigned int avail_in;
    unsigned long total_in;
    unsigned char *next_out;
    unsigned int avail_out;
    unsigned long total_out;
    const char *msg;
    void *state;
    void *zalloc;
    void *zfree;
    void *opaque;
    int data_type;
    unsigned long adler;
    unsigned long reserved;
} z_stream;

const char *zlibVersion(void);
int inflateInit2_(z_stream *strm, int windowBits, const char *version, int stream_size);
int inflate(z_stream *strm, int flush);
int inflateEnd(z_stream *strm);
int inflateReset(z_stream *strm);
int deflateInit2_(z_stream *strm, int level, int method, int windowBits, int memLevel,
                  int strategy, const char *version, int stream_size);
int deflate(z_stream *strm, int flush);
int deflateEnd(z_stream *strm);
]])

local ok, zlib = pcall(ffi.load, "z")
if not ok then
    zlib = ffi.load("libz.so.1")
end

local Z_OK, Z_STREAM_END, Z_BUF_ERROR = 0, 1, -5
local Z_NO_FLUSH, Z_FINISH = 0, 4
local Z_DEFLATED, Z_DEFAULT_COMPRESSION, Z_DEFAULT_STRATEGY = 8, -1, 0
local GZIP_WINDOW = 15 + 16
local MEM_LEVEL = 8
local CHUNK = 16384

local VERSION = zlib.zlibVersion()
local STREAM_SIZE = ffi.sizeof("z_stream")

local _M = {}

local function err_of(stream, code)
    if stream.msg ~= nil then
        return ffi_str(stream.msg)
    end
    return "zlib error " .. tostring(code)
end

-- Runs `step(stream, flush)` over `data` until it reports the end.
local function pump(stream, data, step, finish_code)
    local out = {}
    local buf = ffi_new("unsigned char[?]", CHUNK)
    stream.next_in = ffi_cast("const unsigned char *", data)
    stream.avail_in = #data
    while true do
        stream.next_out = buf
        stream.avail_out = CHUNK
        local rc = step(stream, finish_code)
        local produced = CHUNK - stream.avail_out
        if produced > 0 then
            out[#out + 1] = ffi_str(buf, produced)
        end
        if rc == Z_STREAM_END then
            return concat(out), rc
        end
        if rc ~= Z_OK and not (rc == Z_BUF_ERROR and produced > 0) then
            return nil, err_of(stream, rc)
        end
        if stream.avail_in == 0 and produced == 0 then
            return nil, "incomplete gzip data"
        end
    end
end

function _M.inflate_gzip(data)
    if type(data) ~= "string" then
        return nil, "data must be a string"
    end
    local stream = ffi_new("z_stream")
    if zlib.inflateInit2_(stream, GZIP_WINDOW, VERSION, STREAM_SIZE) ~= Z_OK then
        return nil, err_of(stream, "init")
    end
    local parts = {}
    local rest = data
    while true do
        local res, err = pump(stream, rest, zlib.inflate, Z_NO_FLUSH)
        if not res then
            zlib.inflateEnd(stream)
            return nil, err
        end
        parts[#parts + 1] = res
        local left = stream.avail_in
        if left == 0 then
            break
        end
        -- another gzip member follows
        rest = rest:sub(-left)
        zlib.inflateReset(stream)
    end
    zlib.inflateEnd(stream)
    return concat(parts)
end

function _M.deflate_gzip(data)
    if type(data) ~= "string" then
        return nil, "data must be a string"
    end
    local stream = ffi_new("z_stream")
    if zlib.deflateInit2_(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZIP_WINDOW, MEM_LEVEL,
                          Z_DEFAULT_STRATEGY, VERSION, STREAM_SIZE) ~= Z_OK then
        return nil, err_of(stream, "init")
    end
    local res, err = pump(stream, data, zlib.deflate, Z_FINISH)
    zlib.deflateEnd(stream)
    return res, err
end

return _M
