import FloeCore
import FloeEncoding
import FloeIce
import FloeNIO
import Foundation
import Testing

@testable import FloeRegistry

/// Anyone may register with a registry: what it cannot keep is refused at registration, and a
/// stored row it cannot read (written by an older floe-registry, or by hand) is left out at the
/// next start instead of keeping the registry from starting.
@Suite("Registry hostile registrations", .timeLimit(.minutes(2)))
struct RegistryHostileRegistrationTests {
    /// A server whose admin object (and its Process facet) listens on `port` (0: any).
    private static func adminServer(port: Int, instance: String) async throws -> (Communicator, any ProcessPrx) {
        var properties = Properties()
        properties["Ice.Admin.Endpoints"] = "tcp -h 127.0.0.1 -p \(port)"
        properties["Ice.Admin.InstanceName"] = instance
        let communicator = try Communicator(properties: properties, transport: NIOTransport())
        let admin = try #require(try await communicator.getAdmin())
        return (communicator, uncheckedCast(prx: admin, type: (any ProcessPrx).self, facet: "Process"))
    }

    /// A second server cannot take the server id of one whose Process object still answers
    /// (it would get the first one's stop requests), nor remove it first, nor take it by
    /// naming the running server's endpoints: refused with `ServerNotFoundException`, as
    /// adapters are with `AdapterAlreadyActiveException`. A server restarted on its fixed admin
    /// port with a new admin identity is taken (its old object is gone there), and so is any
    /// server once the first is gone. (Any admitted registrant replaced or removed it.)
    @Test func aRunningServersProcessIsNotReplaced() async throws {
        let (registryCommunicator, registry, locator, _) = try await LocatorTests.registry(liveness: nil)
        let (first, running) = try await Self.adminServer(port: 0, instance: "first")
        let endpoint = running.ice_getEndpoints().first
        let port = if case .ip(let ip) = endpoint { Int(ip.port) } else { 0 }
        let client = try LocatorTests.client(locator: locator)
        let locatorProxy = uncheckedCast(
            prx: try #require(try client.stringToProxy(locator)), type: (any LocatorPrx).self)
        let registryProxy = try #require(try await locatorProxy.getRegistry())
        func process(_ text: String) throws -> any ProcessPrx {
            uncheckedCast(prx: try #require(try client.stringToProxy(text)), type: (any ProcessPrx).self)
        }
        let elsewhere = try process("admin -f Process:tcp -h 127.0.0.1 -p \(try await freePort())")
        try await registryProxy.setServerProcessProxy(id: "S", proxy: running)
        try await registryProxy.setServerProcessProxy(id: "S", proxy: running)  // the same again
        await #expect(throws: ServerNotFoundException.self) {
            try await registryProxy.setServerProcessProxy(id: "S", proxy: elsewhere)
        }
        // The running server's endpoints under another identity, and removing it first.
        let copycat = uncheckedCast(
            prx: running.ice_identity(Identity(name: "admin", category: "copycat")), type: (any ProcessPrx).self)
        await #expect(throws: ServerNotFoundException.self) {
            try await registryProxy.setServerProcessProxy(id: "S", proxy: copycat)
        }
        await #expect(throws: ServerNotFoundException.self) {
            try await registryProxy.setServerProcessProxy(id: "S", proxy: nil)
        }
        #expect(await registry.state.processes["S"] == running._reference.data)

        // Restarted on the same admin port, with a new admin identity.
        await first.destroy()
        let (second, restarted) = try await Self.adminServer(port: port, instance: "second")
        try await registryProxy.setServerProcessProxy(id: "S", proxy: restarted)
        #expect(await registry.state.processes["S"] == restarted._reference.data)
        await second.destroy()
        try await registryProxy.setServerProcessProxy(id: "S", proxy: elsewhere)
        #expect(await registry.state.processes["S"] == elsewhere._reference.data)
        await client.destroy()
        await registryCommunicator.destroy()
    }

    /// A proxy no parser would produce: a client that marshals its own bytes can send it.
    private static func crafted(_ client: Communicator, endpoints: [IPEndpointData]) -> any ObjectPrx {
        let data = ProxyData(identity: Identity(name: "dummy"), endpoints: endpoints.map { .ip($0) })
        return ObjectPrxI(_reference: ProxyReference(communicator: client, data: data))
    }

    @Test func unstorableProxiesAreRefusedAndBadRowsSkipped() async throws {
        let directory = try RegistryStorageTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let communicator = Communicator(transport: NIOTransport())
        let registry = try await RegistryService(
            communicator: communicator, endpoints: "tcp -h 127.0.0.1 -p 0", dataDirectory: directory, liveness: nil)
        let client = try LocatorTests.client(locator: registry.locator.description)
        let locatorProxy = try #require(try client.stringToProxy(registry.locator.description))
        let registryProxy = try #require(
            try await uncheckedCast(prx: locatorProxy, type: (any LocatorPrx).self).getRegistry())

        for (endpoints, message) in [
            ([IPEndpointData(host: "127.0.0.1", port: 70_000)], "does not read back"),
            ([IPEndpointData(host: "127.0.0.1", port: 4, timeout: -2)], "does not read back"),
            (
                (0..<257).map { IPEndpointData(host: "127.0.0.1", port: Int32(1_000 + $0)) },
                "257 endpoints, more than the 256"
            ),
        ] {
            do {
                try await registryProxy.setAdapterDirectProxy(
                    id: "Bad", proxy: Self.crafted(client, endpoints: endpoints))
                Issue.record("registered \(endpoints.count) endpoints, the first \(endpoints[0])")
            } catch let error as DispatchError {
                #expect(error.message.contains(message), "\(error)")
            }
        }
        let process = uncheckedCast(
            prx: Self.crafted(client, endpoints: [IPEndpointData(host: "127.0.0.1", port: -1)]),
            type: (any ProcessPrx).self)
        await #expect(throws: DispatchError.self) {
            try await registryProxy.setServerProcessProxy(id: "S", proxy: process)
        }
        // Well-known objects, added by an administrator or by the embedding application.
        let admin = uncheckedCast(
            prx: locatorProxy.ice_identity(Identity(name: "Admin", category: registry.instanceName)),
            type: (any AdminPrx).self)
        let unreadable = Self.crafted(client, endpoints: [IPEndpointData(host: "127.0.0.1", port: 70_000)])
        do {
            try await admin.addObject(ObjectInfo(proxy: unreadable, type: "::Demo::Hello", tags: [:]))
            Issue.record("floe-admin added an object the registry cannot store")
        } catch let error as AdminError {
            #expect(error.reason.contains("does not read back"), "\(error)")
        }
        await #expect(throws: LocalError.self) { try await registry.addObject(unreadable) }
        #expect(try await admin.getObjects().isEmpty)
        #expect(await registry.adapters().isEmpty)
        // What servers publish reads back and is taken: host names, IPv6, every transport,
        // resources with blanks and colons, infinite timeouts, compression, opaque endpoints.
        let ordinary = [
            "dummy:tcp -h server.example -p 4061 -t infinite -z",
            "dummy:tcp -h \"::1\" -p 4061 -t 60000:ssl -h 127.0.0.1 -p 4062 -t 60000",
            "dummy:ws -h 127.0.0.1 -p 8080 -t 60000 -r /ice:v1:wss -h 127.0.0.1 -p 8443 -t 60000 -r \"/a b\"",
            "dummy:udp -h 127.0.0.1 -p 4063:opaque -t 99 -e 1.1 -v AAEC",
            "dummy -f \"a facet\" -s -e 1.0:tcp -h 127.0.0.1 -p 4061",
        ]
        for (index, text) in ordinary.enumerated() {
            let proxy = try #require(try client.stringToProxy(text))
            try await registryProxy.setAdapterDirectProxy(id: "Ordinary\(index)", proxy: proxy)
        }
        #expect(await registry.adapters().count == ordinary.count)
        for index in ordinary.indices {
            try await registryProxy.setAdapterDirectProxy(id: "Ordinary\(index)", proxy: nil)
        }
        try await registryProxy.setAdapterDirectProxy(
            id: "Good", proxy: Self.crafted(client, endpoints: [IPEndpointData(host: "127.0.0.1", port: 4)]))
        await client.destroy()
        await registry.close()
        await communicator.destroy()

        // A row the registry cannot parse, as an older version might have stored it.
        let writer = Communicator(transport: NIOTransport())
        let storage = try await SQLiteRegistryStorage(directory: directory, communicator: writer)
        let poisoned = ProxyData(
            identity: Identity(name: "dummy"), endpoints: [.ip(IPEndpointData(host: "h", port: 70_000))])
        try await storage.saveAdapter("Poisoned", RegistryState.Adapter(proxy: poisoned, replicaGroupId: ""))
        try await storage.saveProcess("PoisonedServer", poisoned)
        await storage.close()
        await writer.destroy()

        let restarted = Communicator(transport: NIOTransport())
        let second = try await RegistryService(
            communicator: restarted, endpoints: "tcp -h 127.0.0.1 -p 0", dataDirectory: directory, liveness: nil)
        #expect(await second.adapters().keys.sorted() == ["Good"])
        await second.close()
        await restarted.destroy()
    }

    /// Ids and proxies past `StorableProxy`'s sizes are refused, so that `MaxEntries`
    /// registrations cannot each be as large as a message; the largest allowed are taken.
    @Test func oversizedRegistrationsAreRefused() async throws {
        let communicator = Communicator(transport: NIOTransport())
        let registry = try await RegistryService(
            communicator: communicator, endpoints: "tcp -h 127.0.0.1 -p 0", liveness: nil)
        let client = try LocatorTests.client(locator: registry.locator.description)
        let locatorProxy = try #require(try client.stringToProxy(registry.locator.description))
        let registryProxy = try #require(
            try await uncheckedCast(prx: locatorProxy, type: (any LocatorPrx).self).getRegistry())
        let endpoint = "tcp -h 127.0.0.1 -p 4"
        let proxy = try #require(try client.stringToProxy("dummy:\(endpoint)"))
        let longest = String(repeating: "a", count: StorableProxy.maxIdBytes)
        let tooLong = longest + "a"
        // The identity's name makes the string form one byte too long.
        let bigName = String(
            repeating: "n", count: StorableProxy.maxTextBytes - " -t -e 1.1:\(endpoint) -t 60000".utf8.count)
        let biggest = try #require(try client.stringToProxy("\(bigName):\(endpoint)"))
        #expect(biggest.description.utf8.count == StorableProxy.maxTextBytes)
        let tooBig = try #require(try client.stringToProxy("\(bigName)n:\(endpoint)"))

        let refusals: [(String, () async throws -> Void)] = [
            (
                "adapter id of 1025 bytes",
                { try await registryProxy.setAdapterDirectProxy(id: tooLong, proxy: proxy) }
            ),
            (
                "replica group id of 1025 bytes",
                {
                    try await registryProxy.setReplicatedAdapterDirectProxy(
                        adapterId: "A", replicaGroupId: tooLong, p: proxy)
                }
            ),
            (
                "server id of 1025 bytes",
                {
                    try await registryProxy.setServerProcessProxy(
                        id: tooLong, proxy: uncheckedCast(prx: proxy, type: (any ProcessPrx).self))
                }
            ),
            ("a proxy of 32769 bytes", { try await registryProxy.setAdapterDirectProxy(id: "A", proxy: tooBig) }),
        ]
        for (expected, register) in refusals {
            do {
                try await register()
                Issue.record("accepted \(expected)")
            } catch let error as DispatchError {
                #expect(error.message.contains(expected), "\(error)")
            }
        }
        #expect(await registry.adapters().isEmpty)
        // Unregistering is not bounded: an id stored before the bound can still go.
        try await registryProxy.setAdapterDirectProxy(id: tooLong, proxy: nil)
        let admin = uncheckedCast(
            prx: locatorProxy.ice_identity(Identity(name: "Admin", category: registry.instanceName)),
            type: (any AdminPrx).self)
        do {
            try await admin.setReplicaGroupPolicy(id: tooLong, policy: "random", replicas: 0)
            Issue.record("floe-admin set the policy of a group with a 1025-byte id")
        } catch let error as AdminError {
            #expect(error.reason.contains("replica group id of 1025 bytes"), "\(error)")
        }
        try await registryProxy.setAdapterDirectProxy(id: longest, proxy: biggest)
        try await registryProxy.setReplicatedAdapterDirectProxy(adapterId: "B", replicaGroupId: longest, p: proxy)
        #expect(await registry.adapters().count == 2)
        await client.destroy()
        await registry.close()
        await communicator.destroy()
    }

    /// A replica group's lookup answers with at most `maxGroupEndpoints` endpoints, however
    /// many members registered.
    @Test func aGroupLookupIsBounded() async throws {
        let state = try await RegistryState()
        let endpoints = (0..<256).map { EndpointData.ip(IPEndpointData(host: "127.0.0.1", port: Int32(2_000 + $0))) }
        for member in 0..<5 {
            try await state.setAdapter(
                "M\(member)", replicaGroupId: "G",
                proxy: ProxyData(identity: Identity(name: "dummy"), endpoints: endpoints))
        }
        guard case .found(let proxy) = await state.lookUpAdapter("G") else {
            Issue.record("the group was not found")
            return
        }
        #expect(proxy.endpoints.count == RegistryState.maxGroupEndpoints)
    }
}
