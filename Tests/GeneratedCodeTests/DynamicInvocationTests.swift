import FloeEncoding
import FloeNIO
import FloeProtocol
import NIOCore
import Testing

@testable import FloeCore

/// `ice_invoke`, `Blobject` and `propertyToProxy` (issue 15).
@Suite("Dynamic invocation and proxy properties", .timeLimit(.minutes(2)))
struct DynamicInvocationTests {
    /// A bridge built on both: a Blobject default servant forwards every request it gets, whole,
    /// with `ice_invoke` to the real server, and typed clients cannot tell the difference.
    @Test func aBlobjectBridgeForwardsRequestsWhole() async throws {
        let (server, _, _, port) = try await MiddlewareTests.server([])
        let bridgeCommunicator = Communicator(transport: NIOTransport())
        let bridge = try await bridgeCommunicator.createObjectAdapterWithEndpoints(
            name: "Bridge", endpoints: "tcp -h 127.0.0.1 -p 0")
        let target = try #require(try bridgeCommunicator.stringToProxy("tester:tcp -h 127.0.0.1 -p \(port)"))
        try bridge.addDefaultServant(Forwarder(target: target), category: "")
        try await bridge.activate()
        let bridgePort = try #require(bridge.endpoints.first?.port)
        let (client, tester) = try MiddlewareTests.client(bridgePort)

        #expect(try await tester.opIdempotent() == 7)
        #expect(try await tester.opContext("k", context: ["k": "through the bridge"]) == "through the bridge")
        var person = Person()
        person.name = "Ada"
        let result = try await tester.opStruct(p: Point(x: 1, y: 2), q: person)
        #expect(result.returnValue.x == 2 && result.r.name == "ADA")  // the servant swaps and upper-cases
        do {
            try await tester.opThrow(0)
            Issue.record("no exception")
        } catch let error as BaseError {
            #expect(error.reason == "base reason")  // the user exception came back whole (ok == false)
        }
        let missing = tester.ice_identity(Identity(name: "missing"))
        await #expect(throws: DispatchError.self) { try await missing.ice_ping() }

        await client.destroy()
        await bridgeCommunicator.destroy()
        await server.destroy()
    }

    @Test func iceInvokeChecksItsEncapsulation() async throws {
        let (server, _, _, port) = try await MiddlewareTests.server([])
        let (client, tester) = try MiddlewareTests.client(port)
        await #expect(throws: LocalError.self) {
            _ = try await tester.ice_invoke(
                operation: "ice_ping", mode: .idempotent, inEncaps: ByteBuffer(bytes: [9, 0, 0, 0, 1, 1]))
        }
        let (ok, out) = try await tester.ice_invoke(
            operation: "ice_ping", mode: .idempotent, inEncaps: ByteBuffer(bytes: [6, 0, 0, 0, 1, 1]))
        #expect(ok && Array(out.readableBytesView) == [6, 0, 0, 0, 1, 1])
        await client.destroy()
        await server.destroy()
    }

    /// `proxyToProperty` writes what `propertyToProxy` reads back as the same proxy, its locator
    /// and router with their own settings.
    @Test func proxyToPropertyRoundTrips() throws {
        let communicator = Communicator()
        let locator = try #require(try communicator.stringToProxy("Grid/Locator:tcp -h 127.0.0.1 -p 4061"))
        let router = try #require(try communicator.stringToProxy("Glacier2/router:tcp -h 127.0.0.1 -p 4063"))
        let proxy = try #require(try communicator.stringToProxy("hello -f f -s:tcp -h 127.0.0.1 -p 10000 -t 5000"))
            .ice_locator(locator).ice_router(router).ice_endpointSelection(.ordered).ice_preferSecure(true)
            .ice_connectionCached(false).ice_locatorCacheTimeout(30).ice_invocationTimeout(1500)
            .ice_context(["tier": "gold"])
        let written = try communicator.proxyToProperty(proxy, "Hello.Proxy")
        #expect(written["Hello.Proxy.EndpointSelection"] == "Ordered")
        #expect(written["Hello.Proxy.Locator"] == "Grid/Locator -t -e 1.1:tcp -h 127.0.0.1 -p 4061 -t 60000")
        var properties = Properties()
        for (key, value) in written { properties[key] = value }
        let reader = try Communicator(properties: properties)
        let read = try #require(try reader.propertyToProxy("Hello.Proxy"))
        #expect(read.description == proxy.description)
        #expect(read.ice_getEndpointSelection() == .ordered && read.ice_isPreferSecure && !read.ice_isConnectionCached)
        #expect(read.ice_getLocatorCacheTimeout() == 30 && read.ice_getInvocationTimeout() == 1500)
        #expect(read.ice_getContext() == ["tier": "gold"])
        #expect(read.ice_getLocator()?.description == locator.description)
        #expect(read.ice_getRouter()?.description == router.description)
    }

    /// `addFacetWithUUID`: the facet under a new identity, reached through the proxy returned.
    @Test func aFacetAddedWithAUUIDIsReached() async throws {
        let communicator = Communicator(sliceLoader: Vectors_SliceLoader())
        let adapter = try await communicator.createObjectAdapter(name: "")
        let servant = TesterServant()
        let proxy = try adapter.addFacetWithUUID(servant, facet: "admin")
        #expect(proxy.ice_getFacet() == "admin" && proxy.ice_getIdentity().name.count == 36)
        try await adapter.activate()
        try await uncheckedCast(prx: proxy, type: (any TesterPrx).self).ping()
        #expect(await servant.pings == 1)
        #expect(adapter.findAllFacets(proxy.ice_getIdentity()).keys.sorted() == ["admin"])
        await communicator.destroy()
    }

    @Test func propertyToProxyReadsIceProxyProperties() async throws {
        let (server, _, _, port) = try await MiddlewareTests.server([])
        var properties = Properties()
        properties["Tester.Proxy"] = "tester:tcp -h 127.0.0.1 -p \(port)"
        properties["Tester.Proxy.InvocationTimeout"] = "15000"
        properties["Tester.Proxy.EndpointSelection"] = "Ordered"
        properties["Tester.Proxy.Context.tenant"] = "acme"
        properties["Tester.Proxy.Locator"] = "IceGrid/Locator:tcp -h 127.0.0.1 -p 4061"
        properties["Tester.Proxy.Locator.EndpointSelection"] = "Ordered"
        let client = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let proxy = try #require(try client.propertyToProxy("Tester.Proxy"))
        #expect(proxy.ice_getInvocationTimeout() == 15000 && proxy.ice_getEndpointSelection() == .ordered)
        #expect(proxy.ice_getContext() == ["tenant": "acme"])
        #expect(proxy.ice_getLocator()?.ice_getIdentity() == Identity(name: "Locator", category: "IceGrid"))
        let tester = uncheckedCast(prx: proxy, type: (any TesterPrx).self)
        #expect(try await tester.opContext("tenant") == "acme")
        #expect(try client.propertyToProxy("Unset.Proxy") == nil)
        await client.destroy()

        for (setting, value, code) in [
            ("InvocationTimout", "1", LocalError.Code.invalidArgument), ("CollocationOptimized", "0", .unsupported),
        ] {
            var wrong = Properties()
            wrong["P"] = "x:tcp -h 127.0.0.1 -p 1"
            wrong["P.\(setting)"] = value
            let communicator = try Communicator(properties: wrong)
            #expect { try communicator.propertyToProxy("P") } throws: { ($0 as? LocalError)?.code == code }
        }
        await server.destroy()
    }
}

/// Forwards each request, whole, to the object of the same identity and facet behind `target`.
struct Forwarder: Blobject {
    let target: any ObjectPrx

    func ice_invoke(inEncaps: ByteBuffer, current: Current) async throws -> (ok: Bool, outEncaps: ByteBuffer) {
        try await target.ice_identity(current.id).ice_facet(current.facet).ice_invoke(
            operation: current.operation, mode: current.mode, inEncaps: inEncaps, context: current.ctx)
    }
}
