-- The plugin development kit: the only API plugins call (Kong's `kong.*`).
return {
    request = require("kongpy.pdk.request"),
    response = require("kongpy.pdk.response"),
    service = require("kongpy.pdk.service"),
    client = require("kongpy.pdk.client"),
    ctx = require("kongpy.pdk.ctx"),
    log = require("kongpy.pdk.log"),
    cache = require("kongpy.pdk.cache"),
    store = require("kongpy.pdk.store"),
    auth = require("kongpy.pdk.auth"),
    node = require("kongpy.pdk.node"),
    router = require("kongpy.pdk.router"),
}
