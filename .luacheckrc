std = "ngx_lua"
max_line_length = 100
codes = true
unused_args = false
exclude_files = { "tests/fixtures/**" }
files["tests/lua/**"] = { std = "+busted" }
-- Kong's PDK is the global `kong`, set once in init_by_lua (lua/kongpy/init.lua)
read_globals = { "kong" }
files["lua/kongpy/init.lua"] = { globals = { "kong" } }
