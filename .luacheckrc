std = "ngx_lua"
max_line_length = 100
codes = true
unused_args = false
exclude_files = { "tests/fixtures/**" }
files["tests/lua/**"] = { std = "+busted" }
