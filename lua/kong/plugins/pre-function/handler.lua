-- pre-function (Kong 3.9): runs configured Lua snippets first in each phase.
return require("kong.plugins.pre-function._handler")(1000000)
