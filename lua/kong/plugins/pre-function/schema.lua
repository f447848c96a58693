-- pre-function (Kong 3.9): see _schema.lua.
return require("kong.plugins.pre-function._schema")("pre-function")
