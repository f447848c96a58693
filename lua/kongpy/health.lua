-- Target health (contracts.md §6). This placeholder keeps every address
-- healthy and ignores the reports; kongpy.health proper keeps the state in
-- the kongpy_health shared dict. The balancer calls only these functions.
local _M = {}

-- is_healthy(upstream_id, ip, port) -> boolean
function _M.is_healthy()
    return true
end

-- report_*(upstream, ip, port[, status]): `upstream` is the kongpy.upstreams
-- object (id, name, healthchecks); called from the balancer and log phases.
function _M.report_http_status()
end

function _M.report_tcp_failure()
end

function _M.report_timeout()
end

return _M
