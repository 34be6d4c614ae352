import Floe
import FloeNIO
import Logging
import NIOConcurrencyHelpers
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
    /// once while the first still waited for a running dispatch to answer.
    @Test func everyDestroyWaitsForTheDestruction() async throws {
        let server = try await NetworkTests.Server()
        let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(server.port)", type: (any TesterPrx).self)
        let call = Task { try await tester.ping(context: ["sleep": "1"]) }
        #expect(await eventually { await server.servant.runningPings == 1 })
        let (first, second) = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    await server.communicator.destroy()
                    return await server.servant.runningPings == 0
                }
            }
            let results = await group.reduce(into: [Bool]()) { $0.append($1) }
            return (results[0], results[1])
        }
        #expect(first && second, "a destroy() returned while the dispatch still ran")
        try await call.value  // answered before the connection closed
        await client.destroy()
    }

    /// A server with `Ice.Connection.CloseTimeout` 1 s and a Tester adapter.
    private static func server(closeTimeout: Int) async throws -> (Communicator, TesterServant, Int32, ObjectAdapter) {
        var options = ConnectionOptions()
        options.closeTimeout = closeTimeout
        let communicator = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), connectionOptions: options)
        let adapter = try await communicator.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        let servant = TesterServant()
        try adapter.add(servant: servant, id: Identity(name: "tester"))
        try await adapter.activate()
        return (communicator, servant, adapter.publishedEndpoints.first?.port ?? 0, adapter)
    }

    /// As in Ice, a shutdown waits for the running dispatches however long they take: the close
    /// timeout cut them off (10 s by default), and their callers saw the connection lost though
    /// the work was done.
    @Test func aShutdownLetsALongDispatchAnswer() async throws {
        let (server, servant, port, _) = try await Self.server(closeTimeout: 1)
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
        let (server, servant, port, _) = try await Self.server(closeTimeout: 10)
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

    /// A servant that calls `target` (whose servant sleeps 30 s) before answering `opIdempotent`.
    struct Relaying: Dispatcher {
        let target: any TesterPrx
        let next: any Dispatcher

        func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
            if request.current.operation == "opIdempotent" { try await target.ping(context: ["sleep": "30"]) }
            return try await next.dispatch(request)
        }
    }

    /// As in Ice, `destroy()` fails the communicator's outgoing calls once its adapters have
    /// unregistered and closed their listeners, before it waits for their dispatches: a
    /// dispatch waiting on such a call held `destroy()` for ever (helper-59; ZeroC 3.7.8's
    /// destroy returned at once, the outgoing call failing with CommunicatorDestroyedException).
    @Test func destroyEndsADispatchWaitingOnAnOutgoingCall() async throws {
        let (far, farServant, farPort, _) = try await Self.server(closeTimeout: 10)
        let (relay, _, relayPort, relayAdapter) = try await Self.server(closeTimeout: 10)
        let target = try makeProxy(
            communicator: relay, proxyString: "tester:tcp -h 127.0.0.1 -p \(farPort)", type: (any TesterPrx).self)
        try relayAdapter.add(servant: Relaying(target: target, next: TesterServant()), id: Identity(name: "relay"))
        let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let proxy = try makeProxy(
            communicator: client, proxyString: "relay:tcp -h 127.0.0.1 -p \(relayPort)", type: (any TesterPrx).self)
        let call = Task { try await proxy.opIdempotent() }
        #expect(await eventually { await farServant.runningPings == 1 })
        let start = ContinuousClock.now
        await relay.destroy()
        #expect(ContinuousClock.now - start < .seconds(8), "destroy() waited for the outgoing call")
        // The caller has its answer: the relay's dispatch failed.
        await #expect(throws: (any Error).self) { try await call.value }
        await client.destroy()
        await far.destroy()
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
        // Without admin configured, there is none to refuse: nil, as in Ice.
        let plain = Communicator(transport: NIOTransport())
        await plain.shutdown()
        #expect(try await plain.getAdmin() == nil)
        await plain.destroy()
    }

    /// A cancelled `run()` still unregisters its adapter from the locator: aborting refused
    /// every later connection, the registry's included, and the registry kept sending clients
    /// to a server that was gone (helper-59).
    @Test func aCancelledRunStillUnregisters() async throws {
        let script = ScriptedLocator()
        let setup = try await HostileLocatorTests.Setup(script)
        let registry = SlowUnregistering(gate: nil)
        let registryProxy = try setup.locatorAdapter.add(
            servant: registry, id: Identity(name: "Registry", category: "Scripted"))
        await script.set(registry: uncheckedCast(prx: registryProxy, type: (any LocatorRegistryPrx).self))
        var properties = Properties()
        properties["Ice.Default.Locator"] = setup.locator
        properties["Gone.Endpoints"] = "tcp -h 127.0.0.1 -p 0"
        properties["Gone.AdapterId"] = "Gone"
        let server = try Communicator(properties: properties, transport: NIOTransport())
        let adapter = try await server.createObjectAdapter(name: "Gone")
        try await adapter.activate()
        let service = Task { try await server.run() }
        try await Task.sleep(for: .milliseconds(50))
        service.cancel()
        try await service.value
        #expect(registry.unregistrations.withLockedValue { $0 } == 1)
        await setup.destroy()
    }
}
