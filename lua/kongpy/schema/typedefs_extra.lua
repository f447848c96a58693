-- The rest of Kong 3.9's typedefs: route matching attributes (sources,
-- destinations, methods, hosts, router paths, headers), semantic versions,
-- key material (pem, jwk), the queue record and lua_code. Called once by
-- kong.db.schema.typedefs with its table.
local net = require("kongpy.schema.net")
local pem = require("kongpy.schema.pem")
local normalize = require("kongpy.path").normalize
local is_reference = require("kongpy.schema.util").is_reference

local null = ngx.null
local re_find = ngx.re.find

local ipairs = ipairs
local require = require
local format = string.format
local gsub = string.gsub
local sub = string.sub

local function host_with_wildcards(host)
    return net.host_with_optional_port((gsub(host, "%*", "abc")))
end

-- Plain paths must be normalized; "~" paths must compile as the router's
-- regexes do.
local function router_path(path)
    local ok, err, code = net.path(path)
    if code == "percent" then
        return ok, err, code
    end
    if sub(path, 1, 1) ~= "~" then
        local normalized = normalize(path)
        if path ~= normalized then
            return nil, "non-normalized path, consider use '" .. normalized .. "' instead"
        end
        return true
    end
    local regex = sub(path, 2)
    local _, _, rerr = re_find("", regex, "aj")
    if rerr then
        return nil, format("invalid regex: '%s' (PCRE returned: %s)", regex, rerr)
    end
    return true
end

-- Kong compiles it as the node's `untrusted_lua` says, without running it
-- (refused when `off`). Required lazily: the sandbox reads kong.configuration.
local function lua_expression(code)
    return require("kong.tools.sandbox").validate_safe(code)
end

local function pem_keys(values)
    return pem.pem_keys(values, is_reference)
end

local function jwk(key)
    return pem.jwk(key, is_reference)
end

local function string_field()
    return { type = "string", required = false }
end

return function(typedefs, define)
    local function endpoints(what)
        return define {
            type = "set",
            elements = {
                type = "record",
                fields = {
                    { ip = typedefs.ip_or_cidr },
                    { port = typedefs.port },
                },
                entity_checks = { { at_least_one_of = { "ip", "port" } } },
            },
            description = "A set of " .. what .. ", each of which is a record with at least "
                .. "one of 'ip' or 'port'.",
        }
    end

    typedefs.sources = endpoints("sources")
    typedefs.no_sources = define(typedefs.sources {
        eq = null, description = "A null value representing no sources." })
    typedefs.destinations = endpoints("destinations")
    typedefs.no_destinations = define(typedefs.destinations {
        eq = null, description = "A null value representing no destinations." })

    typedefs.methods = define {
        type = "set",
        elements = typedefs.http_method,
        description = "A set of strings representing HTTP methods. Each method must be a "
            .. "valid HTTP method.",
    }
    typedefs.no_methods = define(typedefs.methods {
        eq = null, description = "A null value representing no methods." })

    typedefs.hosts = define {
        type = "array",
        elements = {
            type = "string",
            match_all = { {
                pattern = "^[^*]*%*?[^*]*$",
                err = "invalid wildcard: must have at most one wildcard",
            } },
            match_any = {
                patterns = { "^%*%.", "%.%*$", "^[^*]*$" },
                err = "invalid wildcard: must be placed at leftmost or rightmost label",
            },
            custom_validator = host_with_wildcards,
        },
        description = "An array of strings representing hosts. A valid host is a string "
            .. "containing one or more labels separated by periods, with at most one "
            .. "wildcard label ('*')",
    }
    typedefs.no_hosts = define(typedefs.hosts {
        eq = null, description = "A null value representing no hosts." })

    typedefs.router_path = define {
        type = "string",
        match_any = {
            patterns = { "^/", "^~/" },
            err = "should start with: / (fixed path) or ~/ (regex path)",
        },
        match_none = { { pattern = "//", err = "must not have empty segments" } },
        custom_validator = router_path,
        description = "A string representing a router path. It must start with a forward "
            .. "slash ('/') for a fixed path, or the sequence '~/' for a regex path. It must "
            .. "not have empty segments.",
    }
    typedefs.router_paths = define {
        type = "array",
        elements = typedefs.router_path,
        description = "An array of strings representing router paths.",
    }
    typedefs.no_paths = define(typedefs.router_paths {
        eq = null, description = "A null value representing no router paths." })

    typedefs.headers = define {
        type = "map",
        keys = typedefs.header_name,
        values = { type = "array", elements = { type = "string" } },
        description = "A map of header names to arrays of header values.",
    }
    typedefs.no_headers = define(typedefs.headers {
        eq = null, description = "A null value representing no headers." })

    typedefs.semantic_version = define {
        type = "string",
        match_any = {
            patterns = { "^%d+[%.%d]*$", "^%d+[%.%d]*%-?.*$" },
            err = "invalid version number: must be in format of X.Y.Z",
        },
        match_none = { { pattern = "%.%.", err = "must not have empty version segments" } },
        description = "A string representing a semantic version number in the format "
            .. "X.Y.Z(-build), where X, Y, and Z are integers, plus an optional "
            .. "hyphen-separated build identifier.",
    }

    typedefs.pem = define {
        type = "record",
        required = false,
        fields = {
            { private_key = { type = "string", required = false, referenceable = true,
                              encrypted = true } },
            { public_key = { type = "string", referenceable = true, required = false } },
        },
        entity_checks = { { at_least_one_of = { "private_key", "public_key" } } },
        custom_validator = pem_keys,
        description = "A pair of PEM-encoded public and private keys, which can be either a "
            .. "string or a reference to a credential in Kong Vault. If provided as strings, "
            .. "they must be valid PEM-encoded keys.",
    }

    local jwk_fields = {}
    for _, name in ipairs({ "issuer", "kty", "use", "key_ops", "alg", "kid", "x5u", "x5c",
                            "x5t", "x5t#S256", "k", "x", "y", "crv", "n", "e", "d", "p",
                            "q", "dp", "dq", "qi", "oth", "r", "t" }) do
        local def = string_field()
        if name == "key_ops" or name == "x5c" then
            def = { type = "array", required = false, elements = string_field() }
        elseif name == "kid" then
            def.required = true
        end
        jwk_fields[#jwk_fields + 1] = { [name] = def }
    end
    typedefs.jwk = define {
        type = "record",
        description = "Custom type for representing a JSON Web Key (JWK).",
        required = false,
        fields = jwk_fields,
        custom_validator = jwk,
    }

    typedefs.queue = require("kong.tools.queue_schema")
    typedefs.propagation = require("kong.observability.tracing.propagation.schema")

    typedefs.lua_code = define {
        type = "map",
        keys = { type = "string", len_min = 1 },
        values = { type = "string", len_min = 1, custom_validator = lua_expression },
        description = "Lua code as a key-value map",
    }

    return typedefs
end
