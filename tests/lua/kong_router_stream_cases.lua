-- Kong 3.9's stream router scenarios (the "#stream context" part of
-- spec/01-unit/08-router_spec.lua) as data for kongpy.stream.router:
-- routes (id + sources / destinations / snis / protocols), connections
-- {protocol, src_ip, src_port, dst_ip, dst_port, sni} and the route Kong
-- selects (false: none). A connection with an SNI is a `tls` one, as Kong's
-- compatible router sees it (net.protocol).
local TCP = { "tcp" }
local TLS = { "tls" }

local function ends(kind, id)
    return {
        { id = id .. "1", protocols = TCP,
          [kind] = { { ip = "127.0.0.1" }, { ip = "127.0.0.2" } } },
        { id = id .. "2", protocols = TCP, [kind] = { { port = 65001 }, { port = 65002 } } },
        { id = id .. "3", protocols = TCP, [kind] = { { ip = "127.168.0.0/8" } } },
        { id = id .. "4", protocols = TCP, [kind] = { { ip = "127.0.0.1", port = 65001 } } },
        { id = id .. "5", protocols = TCP, [kind] = { { ip = "127.0.0.2", port = 65300 },
                                                      { ip = "127.168.0.0/16", port = 65301 } } },
    }
end

local function src(ip, port) return { protocol = "tcp", src_ip = ip, src_port = port } end
local function dst(ip, port) return { protocol = "tcp", dst_ip = ip, dst_port = port } end

return {
    { "stream: [sources]", ends("sources", "s"), {
        { src("127.0.0.1"), "s1" },
        { src("127.0.0.3", 65001), "s2" },
        { src("127.168.0.1"), "s3" },
        { src("127.0.0.1", 65001), "s4" },
        { src("127.168.10.1", 65301), "s5" },
        { src("10.0.0.1"), false },
        { src("10.0.0.2", 65301), false },
    } },
    { "stream: [destinations]", ends("destinations", "d"), {
        { dst("127.0.0.1"), "d1" },
        { dst("127.0.0.3", 65001), "d2" },
        { dst("127.168.0.1"), "d3" },
        { dst("127.0.0.1", 65001), "d4" },
        { dst("127.168.10.1", 65301), "d5" },
        { dst("10.0.0.1"), false },
        { dst("10.0.0.2", 65301), false },
    } },
    { "stream: [snis]", {
        { id = "a", protocols = TLS, snis = { "www.example.org" } },
    }, {
        { { protocol = "tls", sni = "www.example.org" }, "a" },
        { { protocol = "tls", sni = "example.org" }, false },
    } },
    { "stream: [sni] ranks above [src] or [dst]", {
        { id = "a", protocols = TLS, snis = { "www.example.org" } },
        { id = "b", protocols = TLS, sources = { { ip = "127.0.0.1" } } },
        { id = "c", protocols = TLS, destinations = { { ip = "172.168.0.1" } } },
    }, {
        { { protocol = "tls", src_ip = "127.0.0.1", sni = "www.example.org" }, "a" },
        { { protocol = "tls", dst_ip = "172.168.0.1", sni = "www.example.org" }, "a" },
    } },
    { "stream: [src] + [dst] rank above [sni]", {
        { id = "a", protocols = TLS, snis = { "www.example.org" } },
        { id = "b", protocols = TLS, sources = { { ip = "127.0.0.1" } },
          destinations = { { ip = "172.168.0.1" } } },
    }, {
        { { protocol = "tls", src_ip = "127.0.0.1", dst_ip = "172.168.0.1",
            sni = "www.example.org" }, "b" },
    } },
    { "stream: SNI routing with tls_passthrough", {
        { id = "a", protocols = { "tls_passthrough" }, snis = { "www.example.com" } },
        { id = "b", protocols = { "tls_passthrough" }, snis = { "www.example.org" } },
    }, {
        { { protocol = "tls_passthrough", sni = "www.example.com" }, "a" },
        { { protocol = "tls_passthrough", sni = "www.example.org" }, "b" },
    } },
}
