import FloeCore
import Testing

struct EchoServant: Dispatcher {
    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        if let builtin = try dispatchBuiltin(request, traits: ObjectTraits.self) { return builtin }
        throw DispatchError.operationNotExist(request.current)
    }
}

@Suite("Communicator life cycle")
struct CommunicatorTests {
    @Test func shutdownReleasesWaitersAndDeactivatesAdapters() async throws {
        let communicator = Communicator()
        let adapter = try communicator.createObjectAdapter(name: "A")
        let proxy = try adapter.add(servant: EchoServant(), id: Identity(name: "echo"))
        try await proxy.ice_ping()
        let waiter = Task { await communicator.waitForShutdown() }
        #expect(!communicator.isShutdown)
        await communicator.shutdown()
        await waiter.value  // returns: shutdown released it
        await communicator.waitForShutdown()  // and later waits return at once
        await #expect(throws: LocalError.self) { try await proxy.ice_ping() }
        await communicator.destroy()
        #expect(communicator.isDestroyed)
        #expect(throws: LocalError.self) { try communicator.createObjectAdapter(name: "B") }
    }

    @Test func adapterNamesAndIdentitiesAreUnique() throws {
        let communicator = Communicator()
        let adapter = try communicator.createObjectAdapter(name: "A")
        #expect(throws: LocalError.self) { try communicator.createObjectAdapter(name: "A") }
        try adapter.add(servant: EchoServant(), id: Identity(name: "x"))
        #expect(throws: LocalError.self) { try adapter.add(servant: EchoServant(), id: Identity(name: "x")) }
        #expect(throws: LocalError.self) { try adapter.add(servant: EchoServant(), id: Identity(name: "")) }
        #expect(throws: LocalError.self) { try adapter.remove(Identity(name: "y")) }
    }
}
