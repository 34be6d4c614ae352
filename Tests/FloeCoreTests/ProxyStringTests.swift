import FloeEncoding
import FloeProtocol
import Testing

@testable import FloeCore

@Suite("Proxy strings")
struct ProxyStringTests {
    let communicator = Communicator()

    private func parse(_ text: String) throws -> ProxyData? { try communicator.stringToProxy(text)?._reference.data }

    @Test func theVectorProxiesParseAndPrintBack() throws {
        let p1 =
            "test -f fac -t -e 1.1:tcp -h 127.0.0.1 -p 10000 -t 60000:ssl -h example.com -p 10001 -t 1000 -z:udp -h 239.255.1.1 -p 10002:ws -h localhost -p 10003 -t 60000 -r /path:opaque -t 99 -e 1.1 -v AQID"
        let data = try #require(try parse(p1))
        #expect(data.identity == Identity(name: "test") && data.facet == "fac")
        #expect(
            data.endpoints == [
                .ip(IPEndpointData(host: "127.0.0.1", port: 10000)),
                .ip(IPEndpointData(transport: .ssl, host: "example.com", port: 10001, timeout: 1000, compress: true)),
                .udp(UDPEndpointData(host: "239.255.1.1", port: 10002)),
                .ip(IPEndpointData(transport: .ws, host: "localhost", port: 10003, resource: "/path")),
                .opaque(OpaqueEndpointData(type: 99, encoding: .v1_1, bytes: [1, 2, 3])),
            ])
        #expect(try communicator.stringToProxy(p1).map(String.init(describing:)) == p1)
        let p2 = try #require(try parse("cat/name -o -s @ TheAdapter"))
        #expect(
            p2
                == ProxyData(
                    identity: Identity(name: "name", category: "cat"), mode: .oneway, secure: true,
                    adapterId: "TheAdapter"))
        #expect(try parse("") == nil)
    }

    /// An endpoint that names no host prints without `-h`, as ZeroC prints it.
    @Test func endpointsWithoutAHostPrintWithoutOne() throws {
        let proxy = try #require(try communicator.stringToProxy("x:tcp -p 4061:udp -p 4062"))
        #expect(proxy.description == "x -t -e 1.1:tcp -p 4061 -t 60000:udp -p 4062")
    }

    @Test func quotingAndEscapes() throws {
        let data = try #require(try parse(#""a b:c\/d" -f "x y" @ "ad apter""#))
        #expect(data.identity == Identity(name: "a b:c/d") && data.facet == "x y" && data.adapterId == "ad apter")
        #expect(try parse(#"cat\/x/n\u00e9\t"#)?.identity == Identity(name: "n\u{e9}\t", category: "cat/x"))
        #expect(try parse("tester:tcp -h \"::1\" -p 4061")?.endpoints == [.ip(IPEndpointData(host: "::1", port: 4061))])
        #expect(
            try parse("t -e 1.0:tcp -p 1 -t infinite")?.endpoints == [
                .ip(IPEndpointData(host: "", port: 1, timeout: -1))
            ])
    }

    /// ZeroC prints a ws resource unquoted unless it has a ':', so `@` may come among the
    /// endpoints: it is part of them there, not an adapter id (it was refused, "unexpected '@'").
    @Test func anAtSignAmongEndpointsIsPartOfThem() throws {
        let data = try #require(try parse("chat:ws -h localhost -p 10003 -r /chat@room:tcp -p 1"))
        #expect(
            data.endpoints == [
                .ip(IPEndpointData(transport: .ws, host: "localhost", port: 10003, resource: "/chat@room")),
                .ip(IPEndpointData(host: "", port: 1)),
            ])
        #expect(data.adapterId.isEmpty)
        #expect(try parse("x @ adapter")?.adapterId == "adapter")
        // An adapter's endpoint list too (`NAME.Endpoints`), '@' in its first endpoint.
        #expect(
            try ProxyStringParser.parseEndpoints("ws -h localhost -p 10003 -r /chat@room") == [
                .ip(IPEndpointData(transport: .ws, host: "localhost", port: 10003, resource: "/chat@room"))
            ])
    }

    @Test(arguments: [
        "a/b/c", "cat/", "x -q", "x -f", "x:tcp -p 70000", "x:tcp -y 1", "x @", "x:bogus -h h", "\"open",
        "x:opaque -t 1", "x -e 1", "x:tcp -h", "x:tcp -p", "x:tcp -t", "x:tcp -h -p 1", "x:tcp -p 1 -z yes",
        "x:opaque -t 1 -v",
    ])
    func malformedStringsAreRejected(text: String) {
        #expect(throws: LocalError.self) { try communicator.stringToProxy(text) }
    }

    /// An option given without its value is ZeroC's error, not an empty host or port 0.
    @Test func anOptionWithoutItsValueIsNamed() {
        #expect {
            try communicator.stringToProxy("hello:tcp -h")
        } throws: { error in
            (error as? LocalError)?.message.hasPrefix("no argument provided for -h option in endpoint 'tcp -h'") == true
        }
    }

    /// Endpoints print as they read in a proxy string, as Ice's `Endpoint.toString()`: they
    /// printed each struct's fields (`IPEndpointData(transport: …, host: …)`).
    @Test func endpointsPrintAsInProxyStrings() throws {
        let text = "x:ssl -h 127.0.0.1 -p 4063 -t 60000 -z:udp -h 127.0.0.1 -p 4064:opaque -t 99 -e 1.1 -v AAEC"
        let proxy = try #require(try communicator.stringToProxy(text))
        let printed = proxy.ice_getEndpoints().map { "\($0)" }
        #expect(
            printed == [
                "ssl -h 127.0.0.1 -p 4063 -t 60000 -z", "udp -h 127.0.0.1 -p 4064", "opaque -t 99 -e 1.1 -v AAEC",
            ])
        if case .ip(let ip) = proxy.ice_getEndpoints().first {
            #expect("\(ip)" == "ssl -h 127.0.0.1 -p 4063 -t 60000 -z")
        } else {
            Issue.record("not an ip endpoint")
        }
        // A udp adapter publishes its endpoint as an `IPEndpointData`: printed in udp's form.
        let published = IPEndpointData(transport: .udp, host: "127.0.0.1", port: 4064, timeout: -1)
        #expect("\(published)" == "udp -h 127.0.0.1 -p 4064")
    }
}
