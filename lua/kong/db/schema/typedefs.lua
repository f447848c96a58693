-- kong.db.schema.typedefs: Kong 3.9's ready-made field definitions. Each is
-- callable with overrides (typedefs.port { default = 80 }); asking for one
-- that does not exist is an error, as in Kong. Validators live in
-- kongpy.schema.net and kongpy.schema.pem; the route-related and key
-- typedefs are added by kongpy.schema.typedefs_extra.
local Schema = require("kong.db.schema")
local net = require("kongpy.schema.net")
local pem = require("kongpy.schema.pem")

local null = ngx.null

local error = error
local tostring = tostring
local setmetatable = setmetatable

local define = Schema.define

-- Kong OSS protocols and those served by the http subsystem, sorted.
local PROTOCOLS = { "grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp" }
local HTTP_PROTOCOLS = { "grpc", "grpcs", "http", "https" }
local DAO_MAX_TTL = 100000000

local typedefs = {}

typedefs.http_method = define {
    type = "string",
    match = "^%u+$",
    description = "A string representing an HTTP method, such as GET, POST, PUT, or DELETE. "
        .. "The string must contain only uppercase letters.",
}

typedefs.protocol = define {
    type = "string",
    one_of = PROTOCOLS,
    description = "A string representing a protocol, such as HTTP or HTTPS.",
}

typedefs.host = define {
    type = "string",
    custom_validator = net.host,
    description = "A string representing a host name, such as example.com.",
}

typedefs.redis_host = define {
    type = "string",
    custom_validator = net.host,
    description = "When using the `redis` policy, this property specifies the address to the "
        .. "Redis server.",
}

typedefs.host_with_optional_port = define {
    type = "string",
    custom_validator = net.host_with_optional_port,
    description = "A string representing a host name with an optional port number, such as "
        .. "example.com or example.com:8080.",
}

typedefs.wildcard_host = define {
    type = "string",
    custom_validator = net.wildcard_host,
    description = "A string representing a wildcard host name, such as *.example.com.",
}

typedefs.ip = define {
    type = "string",
    custom_validator = net.ip,
    description = "A string representing an IP address, such as 192.168.1.1.",
}

typedefs.ip_or_cidr = define {
    type = "string",
    custom_validator = net.ip_or_cidr,
    description = "A string representing an IP address or CIDR block, such as 192.168.1.1 or "
        .. "192.168.0.0/16.",
}

typedefs.cidr_v4 = define {
    type = "string",
    custom_validator = net.cidr_v4,
    description = "A string representing a CIDR block for IPv4 addresses, such as "
        .. "192.168.0.0/16.",
}

-- deprecated alias, kept by Kong
typedefs.cidr = typedefs.cidr_v4

typedefs.port = define {
    type = "integer",
    between = { 0, 65535 },
    description = "An integer representing a port number between 0 and 65535, inclusive.",
}

typedefs.path = define {
    type = "string",
    starts_with = "/",
    match_none = { { pattern = "//", err = "must not have empty segments" } },
    custom_validator = net.path,
    description = "A string representing a URL path, such as /path/to/resource. Must start "
        .. "with a forward slash (/) and must not contain empty segments (i.e., two "
        .. "consecutive forward slashes).",
}

typedefs.url = define {
    type = "string",
    custom_validator = net.url,
    description = "A string representing a URL, such as "
        .. "https://example.com/path/to/resource?q=search.",
}

typedefs.cookie_name = define {
    type = "string",
    custom_validator = net.cookie_name,
    description = "A string representing an HTTP token defined by RFC 2616.",
}

typedefs.header_name = define {
    type = "string",
    custom_validator = net.header_name,
    description = "A string representing an HTTP header name.",
}

typedefs.timeout = define {
    type = "integer",
    between = { 0, 2 ^ 31 - 2 },
    description = "An integer representing a timeout in milliseconds. Must be between 0 and "
        .. "2^31-2.",
}

typedefs.uuid = define {
    type = "string",
    uuid = true,
    auto = true,
    description = "A string representing a UUID (universally unique identifier).",
}

typedefs.auto_timestamp_s = define {
    type = "integer",
    timestamp = true,
    auto = true,
    description = "An integer representing an automatic Unix timestamp in seconds.",
}

typedefs.auto_timestamp_ms = define {
    type = "number",
    timestamp = true,
    auto = true,
    description = "A number representing an automatic Unix timestamp in milliseconds.",
}

typedefs.no_route = define {
    type = "foreign",
    reference = "routes",
    eq = null,
    description = "A reference to the 'routes' table with a null value allowed.",
}

typedefs.no_service = define {
    type = "foreign",
    reference = "services",
    eq = null,
    description = "A reference to the 'services' table with a null value allowed.",
}

typedefs.no_consumer = define {
    type = "foreign",
    reference = "consumers",
    eq = null,
    description = "Custom type for representing a foreign key with a null value allowed.",
}

typedefs.name = define {
    type = "string",
    unique = true,
    custom_validator = net.name,
    description = "A unique string representing a name.",
}

typedefs.utf8_name = define {
    type = "string",
    unique = true,
    custom_validator = net.utf8_name,
    description = "A unique string representing a UTF-8 encoded name.",
}

typedefs.sni = define {
    type = "string",
    custom_validator = net.sni,
    description = "A string representing an SNI (server name indication) value for TLS.",
}

typedefs.redis_server_name = define {
    type = "string",
    custom_validator = net.sni,
    description = "When using the `redis` policy with `redis_ssl` set to `true`, this property "
        .. "specifies the server name for the TLS extension Server Name Indication (SNI).",
}

typedefs.certificate = define {
    type = "string",
    custom_validator = pem.certificate,
    description = "A string representing a certificate.",
}

typedefs.key = define {
    type = "string",
    custom_validator = pem.key,
    description = "A string representing a key.",
}

typedefs.tag = define {
    type = "string",
    required = true,
    custom_validator = net.tag,
    description = "A string representing a tag.",
}

typedefs.tags = define {
    type = "set",
    elements = typedefs.tag,
    description = "A set of strings representing tags.",
}

typedefs.protocols = define {
    type = "set",
    required = true,
    default = HTTP_PROTOCOLS,
    elements = typedefs.protocol,
    description = "A set of strings representing protocols.",
}

typedefs.protocols_http = define {
    type = "set",
    required = true,
    default = HTTP_PROTOCOLS,
    elements = { type = "string", one_of = HTTP_PROTOCOLS },
    description = "A set of strings representing HTTP protocols.",
}

typedefs.ttl = define {
    type = "number",
    between = { 0, DAO_MAX_TTL },
    description = "Time-to-live value for data",
}

require("kongpy.schema.typedefs_extra")(typedefs, define)

return setmetatable(typedefs, {
    __index = function(_, k)
        error("schema typedef error: definition " .. tostring(k) .. " does not exist", 2)
    end,
})
