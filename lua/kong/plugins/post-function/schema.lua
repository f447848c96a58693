-- post-function (Kong 3.9): pre-function's configuration (see its _schema.lua).
return require("kong.plugins.pre-function._schema")("post-function")
