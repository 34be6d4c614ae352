import FloeCore
import FloeEncoding
import Synchronization
import Testing

/// A transport whose `listen` waits until released, and whose listeners count their closes.
private final class GatedTransport: Transport {
    let called = AsyncStream.makeStream(of: Void.self)
    let gate = AsyncStream.makeStream(of: Void.self)
    let closed = Atomic<Int>(0)

    func connect(to endpoint: IPEndpointData, communicator: Communicator) async throws -> any Connection {
        throw LocalError(.connectionRefused, "this transport connects nowhere")
    }

    func listen(on endpoint: IPEndpointData, adapter: ObjectAdapter) async throws -> any Acceptor {
        called.continuation.yield()
        for await _ in gate.stream { break }
        return CountedAcceptor(endpoint: endpoint, transport: self)
    }
}

private struct CountedAcceptor: Acceptor {
    let endpoint: IPEndpointData
    let transport: GatedTransport

    func close() async { transport.closed.add(1, ordering: .relaxed) }
}

@Suite("Adapter creation")
struct AdapterCreationTests {
    /// `destroy()` while an adapter is being created, its listener not yet open: the listener
    /// that opens afterwards is closed, and the creation fails. (It was kept by the destroyed
    /// adapter and never closed: its port stayed bound, accepting and dropping connections.)
    @Test func aListenerOpenedAfterDestroyIsClosed() async throws {
        let transport = GatedTransport()
        let communicator = Communicator(transport: transport)
        let creating = Task {
            try await communicator.createObjectAdapterWithEndpoints(name: "A", endpoints: "tcp -h 127.0.0.1 -p 0")
        }
        for await _ in transport.called.stream { break }
        await communicator.destroy()
        transport.gate.continuation.yield()
        await #expect(throws: LocalError.self) { try await creating.value }
        #expect(transport.closed.load(ordering: .relaxed) == 1, "the listener opened after destroy was left open")
    }
}
