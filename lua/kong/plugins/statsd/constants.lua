-- statsd (Kong 3.9): the status-range patterns shared by the schema and the
-- log phase.
return {
    -- Lua pattern: an allow_status_codes element
    REGEX_STATUS_CODE_RANGE = [[^[0-9]+-[0-9]+$]],
    -- PCRE: the two ends of a range
    REGEX_SPLIT_STATUS_CODES_BY_DASH = [[(\d\d\d)-(\d\d\d)]],
}
