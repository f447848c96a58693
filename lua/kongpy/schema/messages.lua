-- Every message the schema library produces, Kong 3.9's text word for word:
-- clients and tests compare them. Kong swaps three of them for the duration
-- of validate_update(); we pick the update variant per call instead, so two
-- validations never see each other's wording.
local _M = {
    -- general
    ERROR = "Validation error: %s",
    -- types
    ARRAY = "expected an array",
    SET = "expected a set",
    MAP = "expected a map",
    RECORD = "expected a record",
    STRING = "expected a string",
    NUMBER = "expected a number",
    BOOLEAN = "expected a boolean",
    INTEGER = "expected an integer",
    FUNCTION = "expected a function",
    -- validators
    EQ = "value must be %s",
    NE = "value must not be %s",
    GT = "value must be greater than %s",
    BETWEEN = "value should be between %d and %d",
    LEN_EQ = "length must be %d",
    LEN_MIN = "length must be at least %d",
    LEN_MAX = "length must be at most %d",
    MATCH = "invalid value: %s",
    NOT_MATCH = "invalid value: %s",
    MATCH_ALL = "invalid value: %s",
    MATCH_NONE = "invalid value: %s",
    MATCH_ANY = "invalid value: %s",
    STARTS_WITH = "should start with: %s",
    CONTAINS = "expected to contain: %s",
    ONE_OF = "expected one of: %s",
    NOT_ONE_OF = "must not be one of: %s",
    IS_REGEX = "not a valid regex: %s",
    TIMESTAMP = "expected a valid timestamp",
    UUID = "expected a valid UUID",
    VALIDATION = "failed validating: %s",
    -- field presence
    BAD_INPUT = "expected an input table",
    REQUIRED = "required field missing",
    NO_FOREIGN_DEFAULT = "will not generate a default value for a foreign field",
    UNKNOWN = "unknown field",
    IMMUTABLE = "immutable field cannot be updated",
    -- entity checks
    REQUIRED_FOR_ENTITY_CHECK = "field required for entity check",
    ENTITY_CHECK = "failed entity check: %s(%s)",
    ENTITY_CHECK_N_FIELDS = "entity check requires %d fields",
    CHECK = "entity check failed",
    CONDITIONAL = "failed conditional validation given value of field '%s'",
    AT_LEAST_ONE_OF = "at least one of these fields must be non-empty: %s",
    CONDITIONAL_AT_LEAST_ONE_OF = "at least one of these fields must be non-empty: %s",
    ONLY_ONE_OF = "exactly one of these fields must be non-empty: %s",
    DISTINCT = "values of these fields must be distinct: %s",
    MUTUALLY_REQUIRED = "all or none of these fields must be set: %s",
    MUTUALLY_EXCLUSIVE = "only one or none of these fields must be set: %s",
    MUTUALLY_EXCLUSIVE_SETS = "these sets are mutually exclusive: %s",
    -- schema definitions
    SCHEMA_NO_DEFINITION = "expected a definition table",
    SCHEMA_NO_FIELDS = "error in schema definition: no 'fields' table",
    SCHEMA_BAD_REFERENCE = "schema refers to an invalid foreign entity: %s",
    SCHEMA_CANNOT_VALIDATE = "error in schema prevents from validating this field",
    SCHEMA_TYPE = "invalid type: %s",
    -- primary keys
    NOT_PK = "not a primary key",
    MISSING_PK = "missing primary key",
    -- subschemas
    SUBSCHEMA_UNKNOWN = "unknown type: %s",
    SUBSCHEMA_BAD_PARENT = "error in definition of '%s': entities of type '%s' cannot have "
        .. "subschemas",
    SUBSCHEMA_UNDEFINED_FIELD = "error in definition of '%s': %s: abstract field was not "
        .. "specialized",
    SUBSCHEMA_BAD_TYPE = "error in definition of '%s': %s: cannot change type in a "
        .. "specialized field",
    SUBSCHEMA_BAD_FIELD = "error in definition of '%s': %s: cannot create a new field",
    SUBSCHEMA_ABSTRACT_FIELD = "error in schema definition: abstract field was not specialized",
    -- transformations
    TRANSFORMATION_ERROR = "transformation failed: %s",
    -- json
    JSON_ENCODE_ERROR = "value could not be JSON-encoded: %s",
    JSON_DECODE_ERROR = "value could not be JSON-decoded: %s",
    JSON_SCHEMA_ERROR = "value failed JSON-schema validation: %s",
    JSON_PARENT_KEY_MISSING = "validation of %s depends on the parent attribute %s, but it is "
        .. "not set",
    JSON_SCHEMA_NOT_FOUND = "mandatory json schema for field (%s) not found",
    -- shorthands
    SHORTHAND_MISMATCH = "both deprecated and new field are used but their values mismatch: "
        .. "%s = %s vs %s = %s",
}

local UPDATE = {
    REQUIRED_FOR_ENTITY_CHECK = _M.REQUIRED_FOR_ENTITY_CHECK .. " when updating",
    AT_LEAST_ONE_OF = "when updating, " .. _M.AT_LEAST_ONE_OF,
    CONDITIONAL_AT_LEAST_ONE_OF = "when updating, " .. _M.CONDITIONAL_AT_LEAST_ONE_OF,
}

-- The message `key` as the validation described by `ctx` words it.
function _M.get(key, ctx)
    if ctx and ctx.updating then
        return UPDATE[key] or _M[key]
    end
    return _M[key]
end

return _M
