local OAuthHandler = { PRIORITY = 1400, VERSION = "3.9.1" }
function OAuthHandler:access(conf) end
return OAuthHandler
