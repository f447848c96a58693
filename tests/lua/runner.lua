-- Runs the table-driven Lua unit tests inside nginx (init_by_lua), so ngx.re
-- is the real PCRE binding, and writes one line per failure to a file.
local _M = {}

local SUITES = {
    "test_path", "test_router", "test_router_index", "test_router_update", "test_kong_router",
    "test_cidr", "test_crypto",
    "test_basic_auth", "test_pdk", "test_health", "test_stream_router",
    "test_schema_types", "test_schema_validators", "test_schema_checks", "test_schema_auto",
    "test_schema_subschema", "test_schema_typedefs", "test_schema_json", "test_schema_plugins",
    "test_sandbox", "test_transformers", "test_propagation", "test_ldap_ber", "test_aead",
    "test_ratelimit", "test_runner_cache", "test_log_json", "test_prometheus_buckets",
}

function _M.run(out_path)
    local failures, total = {}, 0
    for _, name in ipairs(SUITES) do
        local suite = require(name)
        for _, case in ipairs(suite) do
            total = total + 1
            local ok, err = pcall(case[2])
            if not ok then
                failures[#failures + 1] = name .. ": " .. case[1] .. ": " .. tostring(err)
            end
        end
    end
    local f = assert(io.open(out_path, "wb"))
    f:write(("%d tests, %d failures\n"):format(total, #failures))
    for _, line in ipairs(failures) do
        f:write(line, "\n")
    end
    f:close()
    return #failures == 0
end

function _M.eq(got, want, what)
    if got ~= want then
        error(("%s: expected %s, got %s"):format(what or "value", tostring(want),
                                                 tostring(got)), 2)
    end
end

return _M
