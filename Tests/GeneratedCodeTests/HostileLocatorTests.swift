import FloeIce
import FloeNIO
import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import FloeCore

/// A locator answers what its script says, one answer per lookup (the last one repeats), and
/// keeps the lookups it was asked for ("O:name" for an object, "A:id" for an adapter).
actor ScriptedLocator: Locator {
    enum Answer: Sendable {
        case proxy(String)
        case null
        case adapterNotFound
        case objectNotFound
        /// Answers nothing for `seconds`, then null.
        case silence(seconds: Double)
    }

    private var objects: [String: [Answer]]
    private var adapters: [String: [Answer]]
    private(set) var asked: [String] = []

    init(objects: [String: [Answer]] = [:], adapters: [String: [Answer]] = [:]) {
        self.objects = objects
        self.adapters = adapters
    }

    func findObjectById(id: Identity, current: Current) async throws -> (any ObjectPrx)? {
        asked.append("O:\(id.name)")
        return try await perform(Self.next(&objects, id.name), current)
    }

    func findAdapterById(id: String, current: Current) async throws -> (any ObjectPrx)? {
        asked.append("A:\(id)")
        return try await perform(Self.next(&adapters, id), current)
    }

    /// The registry `getRegistry` answers (none by default).
    var registry: (any LocatorRegistryPrx)?

    func getRegistry(current: Current) async throws -> (any LocatorRegistryPrx)? { registry }

    private static func next(_ script: inout [String: [Answer]], _ key: String) -> Answer {
        guard var answers = script[key], let first = answers.first else { return .null }
        if answers.count > 1 { answers.removeFirst() }
        script[key] = answers
        return first
    }

    private func perform(_ answer: Answer, _ current: Current) async throws -> (any ObjectPrx)? {
        switch answer {
        case .proxy(let text): return try current.adapter.communicator.stringToProxy(text)
        case .null: return nil
        case .adapterNotFound: throw AdapterNotFoundException()
        case .objectNotFound: throw ObjectNotFoundException()
        case .silence(let seconds):
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return nil
        }
    }
}

/// Client-side resolution against a locator that answers badly, or as a deployment changing
/// under the client does (helper-56's review; ZeroC 3.7.8's answers checked with its Python
/// runtime).
@Suite("A locator's awkward answers", .timeLimit(.minutes(1)))
struct HostileLocatorTests {
    /// The scripted locator's proxy string, its server, and a Tester server hosting "greeter".
    struct Setup {
        let locatorServer: Communicator
        let locatorAdapter: ObjectAdapter
        let server: NetworkTests.Server
        let greeter: Communicator
        let greeterPort: Int32
        let locator: String

        init(_ script: ScriptedLocator) async throws {
            locatorServer = Communicator(transport: NIOTransport())
            let adapter = try await locatorServer.createObjectAdapterWithEndpoints(
                name: "Locator", endpoints: "tcp -h 127.0.0.1 -p 0")
            locatorAdapter = adapter
            try adapter.add(servant: script, id: Identity(name: "Locator", category: "Scripted"))
            try await adapter.activate()
            locator = "Scripted/Locator:tcp -h 127.0.0.1 -p \(adapter.publishedEndpoints.first?.port ?? 0)"
            server = try await NetworkTests.Server()
            greeter = server.communicator
            try server.adapter.add(servant: server.servant, id: Identity(name: "greeter"))
            greeterPort = server.port
        }

        func client(_ more: [String: String] = [:]) throws -> Communicator {
            var properties = Properties()
            properties["Ice.Default.Locator"] = locator
            properties["Ice.RetryIntervals"] = "-1"  // (what is shown is the lookup's own retry)
            for (key, value) in more { properties[key] = value }
            return try Communicator(properties: properties, transport: NIOTransport())
        }

        func destroy() async {
            await server.communicator.destroy()
            await locatorServer.destroy()
        }
    }

    /// A well-known object whose adapter the locator no longer knows leaves the cache, and the
    /// call's retry looks it up again, as in Ice: its answer stayed cached, and every call
    /// failed, even after an operator had moved the object to another adapter.
    @Test func aWellKnownObjectWhoseAdapterIsGoneIsLookedUpAgain() async throws {
        let script = ScriptedLocator(
            objects: ["greeter": [.proxy("greeter@A"), .proxy("greeter@B")]],
            adapters: ["A": [.adapterNotFound]])
        let setup = try await Setup(script)
        await script.set(adapter: "B", [.proxy("greeter:tcp -h 127.0.0.1 -p \(setup.greeterPort)")])
        let client = try setup.client(["Ice.RetryIntervals": "0"])  // (Ice's default: one retry)
        let greeter = try #require(try client.stringToProxy("greeter"))
        try await greeter.ice_ping()
        #expect(await script.asked == ["O:greeter", "A:A", "O:greeter", "A:B"])
        try await greeter.ice_ping()  // cached now
        #expect(await script.asked.count == 4)
        await client.destroy()
        await setup.destroy()
    }

    /// Only an adapter the locator does not know sends a well-known object back to the locator:
    /// an adapter lookup that timed out left the object's entry and asked for it again, so a
    /// silent locator cost the call two timeouts (helper-59).
    @Test func aTimedOutAdapterLookupKeepsTheObjectsEntry() async throws {
        let script = ScriptedLocator(objects: ["w": [.proxy("w@S")]], adapters: ["S": [.silence(seconds: 5)]])
        let setup = try await Setup(script)
        let client = try setup.client(["Ice.Default.Locator.InvocationTimeout": "500"])
        await #expect { try await client.stringToProxy("w")?.ice_ping() } throws: {
            ($0 as? LocalError)?.code == .locatorUnreachable
        }
        #expect(await script.asked == ["O:w", "A:S"])
        #expect(client.locatorCache.stale(.object(locator: nil, id: Identity(name: "w"))) != nil)
        await client.destroy()
        await setup.destroy()
    }

    /// A call without an invocation timeout waiting for a locator that does not answer ends as
    /// soon as its caller is cancelled: it waited for the locator's answer.
    @Test func aCancelledCallStopsWaitingForTheLocator() async throws {
        let script = ScriptedLocator(adapters: ["Slow": [.silence(seconds: 60)]])
        let setup = try await Setup(script)
        let client = try setup.client()
        let proxy = try #require(try client.stringToProxy("x@Slow"))
        let call = Task { try await proxy.ice_ping() }
        #expect(await eventually { await script.asked == ["A:Slow"] })
        let start = ContinuousClock.now
        call.cancel()
        let result = await call.result
        #expect(ContinuousClock.now - start < .seconds(2), "the cancelled call waited for the locator")
        #expect(throws: CancellationError.self) { try result.get() }
        // The lookup goes on for others: a second caller joins it rather than asking again.
        let second = Task { try await proxy.ice_ping() }
        let key = LocatorCache.Key.adapter(locator: nil, id: "Slow")
        #expect(await eventually { client.locatorCache.waiterCount(key) == 1 }, "the second caller did not join")
        second.cancel()
        _ = await second.result
        #expect(await script.asked == ["A:Slow"])
        await client.destroy()
        await setup.destroy()
    }

    /// An exception the operation does not declare reaches the caller as Ice's
    /// `UnknownUserException` does, a `LocalError`: it came as an error of an internal type.
    @Test func anUndeclaredLocatorExceptionIsAnUnknownUserException() async throws {
        let script = ScriptedLocator(objects: ["o": [.adapterNotFound]], adapters: ["Q": [.objectNotFound]])
        let setup = try await Setup(script)
        let client = try setup.client()
        for proxy in ["o", "x@Q"] {
            do {
                try await client.stringToProxy(proxy)?.ice_ping()
                Issue.record("\(proxy) was reached")
            } catch let error as LocalError {
                #expect(error.code == .unknownUserException, "\(proxy): \(error)")
            } catch {
                Issue.record("\(proxy): \(error)")
            }
        }
        await client.destroy()
        await setup.destroy()
    }

    /// An expired entry whose connection is still open is used without asking the locator, as
    /// a proxy in Ice keeps its connection: every call asked, and with the registry down every
    /// call failed although the server's connection was fine.
    @Test func anExpiredEntryWithAnOpenConnectionNeedsNoLocator() async throws {
        let script = ScriptedLocator()
        let setup = try await Setup(script)
        await script.set(adapter: "E", [.proxy("greeter:tcp -h 127.0.0.1 -p \(setup.greeterPort)")])
        let client = try setup.client(["Ice.Default.LocatorCacheTimeout": "1"])
        let proxy = try #require(try client.stringToProxy("greeter@E"))
        try await proxy.ice_ping()
        await setup.locatorServer.destroy()  // the registry goes down
        try await Task.sleep(for: .milliseconds(1_100))  // and the entry expires
        try await proxy.ice_ping()
        #expect(await script.asked == ["A:E"])
        // A new connection needs the locator.
        await (try await proxy.ice_getConnection()).close()
        await #expect { try await proxy.ice_ping() } throws: { ($0 as? LocalError)?.code == .locatorUnreachable }
        await client.destroy()
        await setup.destroy()
    }

    /// Calls going on through an expired entry's open connection still see a change: the
    /// locator is asked again meanwhile, and the calls after its answer go to the adapter's new
    /// endpoints, although the old server is still up (helper-59).
    @Test func anAdapterThatMovedIsSeenThoughTheOldConnectionIsOpen() async throws {
        let script = ScriptedLocator()
        let setup = try await Setup(script)
        let second = try await NetworkTests.Server()
        await script.set(
            adapter: "M",
            [
                .proxy("tester:tcp -h 127.0.0.1 -p \(setup.greeterPort)"),
                .proxy("tester:tcp -h 127.0.0.1 -p \(second.port)"),
            ])
        let client = try setup.client(["Ice.Default.LocatorCacheTimeout": "1"])
        let proxy = try makeProxy(communicator: client, proxyString: "tester@M", type: (any TesterPrx).self)
        try await proxy.ping()
        try await Task.sleep(for: .milliseconds(1_100))
        #expect(
            await eventually {
                _ = try? await proxy.ping()
                return await second.servant.pings > 0
            }, "the calls stayed on the old server")
        await client.destroy()
        await second.communicator.destroy()
        await setup.destroy()
    }

    /// Endpoints just looked up that nobody answers on are forgotten, as Ice clears its cache
    /// after a connection error: the next call asks the locator again (it tried them once more
    /// first, a whole connect timeout for a silent address; helper-56).
    @Test func freshEndpointsThatFailAreForgotten() async throws {
        let silent = try await HostileServerOpeningTests.SilentServer()
        let script = ScriptedLocator()
        let setup = try await Setup(script)
        await script.set(
            adapter: "F",
            [
                .proxy("tester:tcp -h 127.0.0.1 -p \(silent.port) -t 300"),
                .proxy("tester:tcp -h 127.0.0.1 -p \(setup.greeterPort)"),
            ])
        let client = try setup.client()
        let proxy = try #require(try client.stringToProxy("tester@F"))
        await #expect(throws: LocalError.self) { try await proxy.ice_ping() }
        try await proxy.ice_ping()
        #expect(silent.accepted == 1, "the silent address was tried again")
        #expect(await script.asked == ["A:F", "A:F"])
        await client.destroy()
        await silent.close()
        await setup.destroy()
    }

    /// With `Ice.BackgroundLocatorCacheUpdates`, an adapter the locator no longer knows leaves
    /// the cache, as in Ice: its stale entry sent calls to the old endpoints for ever.
    @Test func anUnregisteredAdapterLeavesTheCacheOfABackgroundUpdatingClient() async throws {
        let script = ScriptedLocator()
        let setup = try await Setup(script)
        await script.set(
            adapter: "Bg", [.proxy("greeter:tcp -h 127.0.0.1 -p \(setup.greeterPort)"), .adapterNotFound])
        let client = try setup.client([
            "Ice.Default.LocatorCacheTimeout": "1", "Ice.BackgroundLocatorCacheUpdates": "1",
        ])
        let proxy = try #require(try client.stringToProxy("greeter@Bg"))
        try await proxy.ice_ping()
        try await Task.sleep(for: .milliseconds(1_100))
        try await proxy.ice_ping()  // the stale entry, while the locator is asked again
        #expect(await eventually { client.locatorCache.stale(.adapter(locator: nil, id: "Bg")) == nil })
        await #expect { try await proxy.ice_ping() } throws: { ($0 as? LocalError)?.code == .notRegistered }
        await client.destroy()
        await setup.destroy()
    }
}

extension ScriptedLocator {
    func set(adapter id: String, _ answers: [Answer]) { adapters[id] = answers }
    func set(registry: any LocatorRegistryPrx) { self.registry = registry }
}

/// A registry that takes registrations at once and unregistrations once its gate is open,
/// counting them.
struct SlowUnregistering: LocatorRegistry {
    /// Unregistrations wait until it is open (always, when nil).
    let gate: RegistrationGate?
    let unregistrations = NIOLockedValueBox(0)

    func setAdapterDirectProxy(id: String, proxy: (any ObjectPrx)?, current: Current) async throws {
        guard proxy == nil else { return }
        unregistrations.withLockedValue { $0 += 1 }
        await gate?.pass()
    }

    func setReplicatedAdapterDirectProxy(
        adapterId: String, replicaGroupId: String, p: (any ObjectPrx)?, current: Current
    ) async throws {
        try await setAdapterDirectProxy(id: adapterId, proxy: p, current: current)
    }

    func setServerProcessProxy(id: String, proxy: (any ProcessPrx)?, current: Current) async throws {}
}

/// A deactivating adapter and the connections that reach it while it unregisters.
@Suite("Deactivation and late connections", .timeLimit(.minutes(1)))
struct LateConnectionTests {
    /// As in Ice, a connection accepted while the adapter unregisters from its locator is
    /// served, and closed with the others once the listeners close: it was validated, then
    /// sent close-connection by a task nothing awaited, and its calls failed.
    @Test func aConnectionDuringTheUnregistrationIsServed() async throws {
        let script = ScriptedLocator()
        let setup = try await HostileLocatorTests.Setup(script)
        let gate = RegistrationGate()
        gate.close()  // (the unregistration waits until the late client has been served)
        defer { gate.open() }
        let registry = SlowUnregistering(gate: gate)
        let registryProxy = try setup.locatorAdapter.add(
            servant: registry, id: Identity(name: "Registry", category: "Scripted"))
        await script.set(registry: uncheckedCast(prx: registryProxy, type: (any LocatorRegistryPrx).self))
        var properties = Properties()
        properties["Ice.Default.Locator"] = setup.locator
        properties["Late.Endpoints"] = "tcp -h 127.0.0.1 -p 0"
        properties["Late.AdapterId"] = "Late"
        let server = try Communicator(properties: properties, transport: NIOTransport())
        let adapter = try await server.createObjectAdapter(name: "Late")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let port = adapter.publishedEndpoints.first?.port ?? 0
        await adapter.deactivate()
        #expect(await eventually { registry.unregistrations.withLockedValue { $0 } == 1 })
        let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        try await tester.ice_ping()
        let connection = try await tester.ice_getConnection()
        gate.open()
        await adapter.waitForDeactivate()
        #expect(await eventually { connection.isClosed }, "the late connection was left open")
        await client.destroy()
        await server.destroy()
        await setup.destroy()
    }
}
