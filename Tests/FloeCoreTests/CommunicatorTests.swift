import FloeCore
import FloeEncoding
import FloeProtocol
import NIOCore
import Testing

struct EchoServant: Dispatcher {
    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        if let builtin = try dispatchBuiltin(request, traits: ObjectTraits.self) { return builtin }
        throw DispatchError.operationNotExist(request.current)
    }
}

@Suite("Communicator life cycle", .timeLimit(.minutes(1)))
struct CommunicatorTests {
    @Test func shutdownReleasesWaitersAndDeactivatesAdapters() async throws {
        let communicator = Communicator()
        let adapter = try await communicator.createObjectAdapter(name: "A")
        let proxy = try adapter.add(servant: EchoServant(), id: Identity(name: "echo"))
        try await adapter.activate()
        try await proxy.ice_ping()
        let waiter = Task { await communicator.waitForShutdown() }
        #expect(!communicator.isShutdown)
        await communicator.shutdown()
        await waiter.value  // returns: shutdown released it
        await communicator.waitForShutdown()  // and later waits return at once
        await #expect(throws: LocalError.self) { try await proxy.ice_ping() }
        await communicator.destroy()
        #expect(communicator.isDestroyed)
        await #expect(throws: LocalError.self) { try await communicator.createObjectAdapter(name: "B") }
    }

    /// Finding servants as ZeroC's adapters do: by identity, identity and facet, or proxy.
    @Test func servantsAreFoundByIdentityFacetOrProxy() async throws {
        let communicator = Communicator()
        let adapter = try await communicator.createObjectAdapter(name: "A")
        let plain = try adapter.add(servant: EchoServant(), id: Identity(name: "x"))
        let faceted = try adapter.addFacet(servant: EchoServant(), id: Identity(name: "x"), facet: "f")
        #expect(adapter.findByProxy(plain) != nil && adapter.findByProxy(faceted) != nil)
        #expect(adapter.findAllFacets(Identity(name: "x")).keys.sorted() == ["", "f"])
        #expect(adapter.findByProxy(plain.ice_facet("g")) == nil)
        #expect(adapter.findByProxy(plain.ice_identity(Identity(name: "y"))) == nil)
        // Then, as in Ice, the default servant of the identity's category, else of "".
        try adapter.addDefaultServant(EchoServant(), category: "files")
        #expect(adapter.find(Identity(name: "y", category: "files")) != nil)
        #expect(adapter.find(Identity(name: "y", category: "other")) == nil)
        try adapter.addDefaultServant(EchoServant(), category: "")
        #expect(adapter.findByProxy(plain.ice_identity(Identity(name: "y", category: "other"))) != nil)
        #expect(!plain.ice_isFixed)
        await communicator.destroy()
    }

    @Test func destroyReleasesWaitForShutdown() async throws {
        let communicator = Communicator()
        let waiter = Task { await communicator.waitForShutdown() }
        try await Task.sleep(for: .milliseconds(50))
        await communicator.destroy()
        await waiter.value  // returns: destroy released it (a hang fails on the suite's limit)
        #expect(communicator.isShutdown)
    }

    @Test func adapterNamesAndIdentitiesAreUnique() async throws {
        let communicator = Communicator()
        let adapter = try await communicator.createObjectAdapter(name: "A")
        await #expect(throws: LocalError.self) { try await communicator.createObjectAdapter(name: "A") }
        try adapter.add(servant: EchoServant(), id: Identity(name: "x"))
        #expect(throws: LocalError.self) { try adapter.add(servant: EchoServant(), id: Identity(name: "x")) }
        #expect(throws: LocalError.self) { try adapter.add(servant: EchoServant(), id: Identity(name: "")) }
        #expect(throws: LocalError.self) { try adapter.remove(Identity(name: "y")) }
    }

    /// As in Ice, any number of adapters may have the empty name (callback adapters for
    /// bidirectional connections are made so); deactivating one leaves the others in place.
    @Test func unnamedAdaptersNeedNotBeUnique() async throws {
        let communicator = Communicator()
        let first = try await communicator.createObjectAdapter(name: "")
        let second = try await communicator.createObjectAdapter(name: "")
        #expect(first !== second && second.name.isEmpty)
        let proxy = try second.add(servant: EchoServant(), id: Identity(name: "echo"))
        try await second.activate()
        await first.deactivate()
        try await proxy.ice_ping()  // collocated: the second is still the communicator's
        await communicator.destroy()
    }

    @Test func dispatchFindsFacetsAndDefaultServants() async throws {
        let communicator = Communicator()
        defer { Task { await communicator.destroy() } }
        let adapter = try await communicator.createObjectAdapter(name: "A")
        let proxy = try adapter.add(servant: EchoServant(), id: Identity(name: "echo"))
        try await adapter.activate()
        try await proxy.ice_ping()
        // A proxy without endpoints is this adapter's only for an identity it has a servant
        // of, as in Ice (a default servant would take another server's well-known objects).
        await #expect(throws: LocalError.self) {
            try await proxy.ice_identity(Identity(name: "other", category: "c")).ice_ping()
        }
        func status(of call: () async throws -> Void) async -> ReplyStatus? {
            do {
                try await call()
                return nil
            } catch let error as DispatchError {
                return error.status
            } catch {
                return .unknownException
            }
        }
        #expect(await status { try await proxy.ice_facet("nofacet").ice_ping() } == .facetNotExist)
        // (An identity with no servant is not collocated: object-not-exist is tested over TCP.)
        // The adapter's own dispatch finds a default servant.
        try adapter.addDefaultServant(EchoServant(), category: "c")
        let current = Current(adapter: adapter, id: Identity(name: "other", category: "c"), operation: "ice_ping")
        let ping = IncomingRequest(current: current, parameters: ByteBuffer(bytes: [6, 0, 0, 0, 1, 1]))
        #expect(try await adapter.dispatch(ping).replyStatus == .ok)
        // As in Ice, a default servant serves a facet the identity's own servants lack.
        try adapter.addDefaultServant(EchoServant(), category: "")
        try await proxy.ice_facet("nofacet").ice_ping()
    }
}

@Suite("Empty parameters")
struct EmptyParametersTests {
    private func request(_ bytes: [UInt8]) async throws -> (IncomingRequest, Communicator) {
        let communicator = Communicator()
        let adapter = try await communicator.createObjectAdapter(name: "A")
        let current = Current(adapter: adapter, id: Identity(name: "x"), operation: "op")
        return (IncomingRequest(current: current, parameters: ByteBuffer(bytes: bytes)), communicator)
    }

    @Test(
        arguments: [
            [6, 0, 0, 0, 1, 1], [6, 0, 0, 0, 1, 0],
            [7, 0, 0, 0, 1, 0, 0],  // a 1.0 encapsulation with the extra byte old peers send
        ] as [[UInt8]])
    func emptyEncapsulationsAreAccepted(bytes: [UInt8]) async throws {
        let (request, communicator) = try await request(bytes)
        try request.readEmptyParameters()
        await communicator.destroy()
    }

    @Test(
        arguments: [
            [6, 0, 0, 0, 2, 0],  // an encoding that does not exist
            [5, 0, 0, 0, 1, 1],  // a size below the header's
            [7, 0, 0, 0, 1, 1, 9],  // a parameter the operation does not take
            [6, 0, 0, 0, 1],
        ] as [[UInt8]])
    func otherParametersAreRejected(bytes: [UInt8]) async throws {
        let (request, communicator) = try await request(bytes)
        #expect(throws: MarshalError.self) { try request.readEmptyParameters() }
        await communicator.destroy()
    }
}

/// Proxies whose endpoints cannot carry their calls fail clearly, as in Ice: a secure proxy with
/// only tcp endpoints never falls back to tcp (issue 17), and a datagram proxy needs a udp
/// endpoint.
@Suite("Unsupported proxy settings")
struct UnsupportedSettingsTests {
    @Test func secureAndDatagramCallsFailClearly() async throws {
        let communicator = Communicator()
        let proxy = try #require(try communicator.stringToProxy("thing:tcp -h 127.0.0.1 -p 1"))
        let settings: [(String, any ObjectPrx, LocalError.Code)] = [
            ("ice_secure", proxy.ice_secure(true), .noEndpoint), ("datagram", proxy.ice_datagram(), .noEndpoint),
        ]
        for (name, configured, code) in settings {
            await #expect(throws: LocalError.self, "\(name)") {
                do {
                    try await configured.ice_ping()
                } catch let error as LocalError {
                    #expect(error.code == code, "\(name): \(error)")
                    throw error
                }
            }
        }
        // Turned off again, the call goes on to the transport (which this communicator lacks).
        await #expect(throws: LocalError.self) {
            do {
                try await proxy.ice_secure(false).ice_compress(false).ice_ping()
            } catch let error as LocalError {
                #expect(error.code == .noEndpoint)
                #expect(error.message.contains("no transport"))
                throw error
            }
        }
        await communicator.destroy()
    }
}
