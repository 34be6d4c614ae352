import Floe
import FloeNIO
import Logging
import ServiceLifecycle
import Testing

/// How a communicator stops: as a swift-service-lifecycle service, and through `shutdown()`
/// and `destroy()` (helper-57's review).
@Suite("Shutdown and destruction", .timeLimit(.minutes(1)))
struct LifecycleTests {
    struct Failure: Error {}

    /// A service that fails soon after it starts: the group then cancels the others.
    struct FailingService: Service {
        func run() async throws {
            try await Task.sleep(for: .milliseconds(200))
            throw Failure()
        }
    }

    /// A group cancels its services when one fails; a communicator's `run()` waited for a
    /// shutdown that never came, and the group never ended.
    @Test func aGroupWhoseOtherServiceFailsEnds() async throws {
        let server = try await NetworkTests.Server()
        let group = ServiceGroup(
            services: [server.communicator, FailingService()], logger: Logger(label: "lifecycle-test"))
        await #expect(throws: Failure.self) { try await group.run() }
        #expect(server.communicator.isDestroyed)
    }

    @Test func cancellingWaitForShutdownEndsTheWait() async throws {
        let communicator = Communicator()
        let waiting = Task { await communicator.waitForShutdown() }
        waiting.cancel()
        await waiting.value
        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await communicator.waitForShutdown()
        }
        await cancelledFirst.value
        #expect(!communicator.isShutdown)
        await communicator.destroy()
    }

    /// As in Ice, a second `destroy()` returns once the destruction is over: it returned at
    /// once while the first still waited for a reply before closing its connection.
    @Test func everyDestroyWaitsForTheDestruction() async throws {
        let server = try await NetworkTests.Server()
        let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(server.port)", type: (any TesterPrx).self)
        try await tester.ice_ping()
        let call = Task { try await tester.ping(context: ["sleep": "1"]) }
        #expect(await eventually { await server.servant.runningPings == 1 })
        let took = await withTaskGroup(of: Duration.self) { group in
            for _ in 0..<2 {
                group.addTask { await ContinuousClock().measure { await client.destroy() } }
            }
            return await group.reduce(into: [Duration]()) { $0.append($1) }
        }
        for duration in took { #expect(duration > .milliseconds(500), "a destroy returned after \(duration)") }
        try await call.value  // the reply came before the connection closed
        await server.communicator.destroy()
    }

    /// A server with `Ice.Connection.CloseTimeout` 1 s and a Tester adapter.
    private static func server(closeTimeout: Int) async throws -> (Communicator, TesterServant, Int32) {
        var options = ConnectionOptions()
        options.closeTimeout = closeTimeout
        let communicator = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), connectionOptions: options)
        let adapter = try await communicator.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        let servant = TesterServant()
        try adapter.add(servant: servant, id: Identity(name: "tester"))
        try await adapter.activate()
        return (communicator, servant, adapter.publishedEndpoints.first?.port ?? 0)
    }

    /// As in Ice, a shutdown waits for the running dispatches however long they take: the close
    /// timeout cut them off (10 s by default), and their callers saw the connection lost though
    /// the work was done.
    @Test func aShutdownLetsALongDispatchAnswer() async throws {
        let (server, servant, port) = try await Self.server(closeTimeout: 1)
        let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        let call = Task { try await tester.ping(context: ["sleep": "2.5"]) }
        #expect(await eventually { await servant.runningPings == 1 })
        await server.shutdown()
        await server.waitForShutdown()
        try await call.value
        await client.destroy()
        await server.destroy()
    }

    /// Cancelled, a communicator's `run()` ends at once, cancelling the dispatch that would keep
    /// its shutdown waiting.
    @Test func aCancelledRunAbortsTheDispatchesItWouldWaitFor() async throws {
        let (server, servant, port) = try await Self.server(closeTimeout: 10)
        let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        let service = Task { try await server.run() }
        let call = Task { try await tester.ping(context: ["sleep": "30"]) }
        #expect(await eventually { await servant.runningPings == 1 })
        let start = ContinuousClock.now
        service.cancel()
        try await service.value
        #expect(ContinuousClock.now - start < .seconds(5), "run() waited for the dispatch")
        #expect(server.isDestroyed)
        await #expect { try await call.value } throws: { ($0 as? LocalError)?.code == .connectionLost }
        #expect(await eventually { await servant.cancelledPings == 1 }, "the dispatch was not cancelled")
        await client.destroy()
    }

    /// As in Ice, no adapter is made once the communicator is shut down: nothing would
    /// deactivate it, and it served on after `waitForShutdown()` returned.
    @Test func noAdapterIsMadeAfterShutdown() async throws {
        var properties = Properties()
        properties["Ice.Admin.Endpoints"] = "tcp -h 127.0.0.1 -p 0"
        properties["Ice.Admin.InstanceName"] = "lifecycle-test"
        let communicator = try Communicator(properties: properties, transport: NIOTransport())
        await communicator.shutdown()
        await communicator.waitForShutdown()
        await #expect {
            _ = try await communicator.createObjectAdapterWithEndpoints(name: "A", endpoints: "tcp -h 127.0.0.1 -p 0")
        } throws: {
            ($0 as? LocalError)?.code == .communicatorDestroyed
        }
        await #expect(throws: LocalError.self) { _ = try await communicator.createObjectAdapter(name: "") }
        await #expect { _ = try await communicator.getAdmin() } throws: {
            ($0 as? LocalError)?.code == .communicatorDestroyed
        }
        await communicator.destroy()
    }
}
