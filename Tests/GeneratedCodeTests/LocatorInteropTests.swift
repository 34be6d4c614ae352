import FloeCore
import FloeNIO
import FloeRegistry
import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing

// (All of FloeIce would make `Process` ambiguous with Foundation's.)
import protocol FloeIce.LocatorPrx
import func FloeIce.uncheckedCast

/// Locators with real ZeroC Ice 3.7.8 peers: ZeroC servers and clients using FloeRegistry, and
/// Floe servers and clients using Debian's `icegridregistry` with dynamic registration (issue 16).
@Suite("Locator interop with ZeroC", .serialized, .timeLimit(.minutes(3)))
struct LocatorInteropTests {
    /// A ZeroC Python server registers itself with FloeRegistry; a Floe client reaches it by
    /// adapter id, and a ZeroC Python client by adapter id and by well-known name.
    @Test func zerocPeersUseFloeRegistry() async throws {
        let (registryCommunicator, registry, locator, _) = try await LocatorTests.registry()
        let (server, output) = try launchPeer("locator_peer.py", ["server", locator, "PyTester"])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let ready = try await firstLine(of: output)
        #expect(ready.hasPrefix("ready "), "the ZeroC server did not start: '\(ready)'")
        #expect(await registry.adapters().keys.contains("PyTester"))

        let client = try LocatorTests.client(locator: locator)
        let tester = try makeProxy(communicator: client, proxyString: "tester@PyTester", type: (any TesterPrx).self)
        #expect(try await tester.opIdempotent() == 42)

        try await registry.addObject(tester)  // well-known "tester", itself indirect
        let (zerocClient, answers) = try launchPeer(
            "locator_peer.py", ["client", locator, "tester@PyTester", "tester"])
        let transcript = try await offPool { String(decoding: try answers.readToEnd() ?? Data(), as: UTF8.self) }
        await offPool { zerocClient.waitUntilExit() }
        #expect(zerocClient.terminationStatus == 0, "\(transcript)")
        #expect(transcript == "tester@PyTester -> 42\ntester -> 42\n")

        try await tester.shutdown()
        await offPool { server.waitUntilExit() }
        // The ZeroC server unregistered on its way out.
        #expect(await eventually { await registry.adapters().isEmpty })
        await client.destroy()
        await registryCommunicator.destroy()
    }

    /// Floe servers register with IceGrid's registry and Floe clients resolve through it; a
    /// locator proxy whose first endpoint is dead fails over to the next.
    @Test func floeUsesIceGridRegistry() async throws {
        let port = try await freePort()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("floe-icegrid-\(UUID())")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        let (registry, output) = try launchPeer(
            "/usr/bin/icegridregistry",
            [
                "--nowarn", "--Ice.PrintAdapterReady=1", "--IceGrid.InstanceName=FloeGrid",
                "--IceGrid.Registry.Client.Endpoints=tcp -h 127.0.0.1 -p \(port)",
                "--IceGrid.Registry.Server.Endpoints=tcp -h 127.0.0.1",
                "--IceGrid.Registry.Internal.Endpoints=tcp -h 127.0.0.1",
                "--IceGrid.Registry.LMDB.Path=\(data.path)", "--IceGrid.Registry.LMDB.MapSize=1",
                "--IceGrid.Registry.DynamicRegistration=1", "--IceGrid.Registry.Discovery.Enabled=0",
                "--IceGrid.Registry.AdminPermissionsVerifier=FloeGrid/NullPermissionsVerifier",
            ])
        defer { if registry.isRunning { kill(registry.processIdentifier, SIGKILL) } }
        for _ in 0..<3 {
            let line = try await firstLine(of: output)
            if line.contains("Client ready") { break }
            #expect(line.hasSuffix("ready"), "icegridregistry: '\(line)'")
        }
        let dead = try await freePort()
        let locator = "FloeGrid/Locator:tcp -h 127.0.0.1 -p \(dead):tcp -h 127.0.0.1 -p \(port)"
        let (server, _, servant) = try await LocatorTests.server(locator: locator, adapterId: "FloeOnGrid")
        let client = try LocatorTests.client(locator: locator)
        let tester = try makeProxy(communicator: client, proxyString: "tester@FloeOnGrid", type: (any TesterPrx).self)
        #expect(try await tester.opIdempotent() == 7)
        try await tester.ping()
        #expect(await servant.pings == 1)
        let missing = try makeProxy(communicator: client, proxyString: "tester@NotOnGrid", type: (any TesterPrx).self)
        await #expect(throws: LocalError.self) { try await missing.ice_ping() }
        await client.destroy()
        await server.destroy()
        kill(registry.processIdentifier, SIGTERM)
        await offPool { registry.waitUntilExit() }
    }
}

/// A TCP port nothing listens on now (bound, then released), for a peer process to listen on.
/// Chosen below the kernel's ephemeral range (32768 and up): a port from port 0 could be taken,
/// before the peer binds it, by one of the thousands of connections or `-p 0` listeners the
/// suites running alongside open (an icegridregistry once failed to start that way).
func freePort() async throws -> Int {
    for _ in 0..<100 {
        let port = Int.random(in: 20_000..<32_000)
        guard
            let channel = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: port).get()
        else { continue }
        try await channel.close()
        return port
    }
    throw LocalError(.socket, "no free port between 20000 and 32000")
}

extension LocatorInteropTests {
    /// Three server processes in one replica group; one is killed with SIGKILL while a client
    /// makes idempotent calls through the group: not one call fails (a call on the dead
    /// connection is retried, and the dead endpoint refuses, so another is chosen). Within the
    /// grace period, the registry's liveness checks leave the dead one out of lookups.
    @Test func idempotentCallsSurviveAReplicaKilledWithSigkill() async throws {
        guard let bench = builtFloeBench() else { return }
        let (registryCommunicator, registry, locator, _) = try await LocatorTests.registry(
            // (Seconds, not the 500/200 ms this had: under a loaded CI run a live replica can miss
            // pings that short, and a group whose replicas are all left out fails calls.)
            liveness: Liveness(interval: .milliseconds(100), grace: .seconds(2), timeout: .seconds(1)))
        var servers: [Process] = []
        defer { for server in servers where server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        for index in 0..<3 {
            let (server, output) = try launchPeer(
                bench,
                [
                    "server", "--endpoints", "tcp -h 127.0.0.1 -p 0", "--Ice.Default.Locator=\(locator)",
                    "--Bench.AdapterId=Replica\(index)", "--Bench.ReplicaGroupId=Replicas",
                ])
            servers.append(server)
            #expect(try await firstLine(of: output) == "ready")
        }
        #expect(await registry.adapters().count == 3)
        var properties = Properties()
        properties["Ice.Default.Locator"] = locator
        let retrying = try Communicator(properties: properties, transport: NIOTransport())  // Ice's default retry
        let group = try #require(try retrying.stringToProxy("bench@Replicas")).ice_connectionCached(false)
        var failures: [String] = []
        for call in 0..<300 {
            if call == 100 { kill(servers[0].processIdentifier, SIGKILL) }
            do {
                try await group.ice_ping()
            } catch {
                failures.append("call \(call): \(error)")
            }
        }
        #expect(failures.isEmpty, "\(failures)")
        let locatorProxy = uncheckedCast(
            prx: try #require(try retrying.stringToProxy(locator)), type: (any LocatorPrx).self)
        @Sendable func endpointCount(_ id: String) async -> Int {
            ((try? await locatorProxy.findAdapterById(id)) ?? nil)?.ice_getEndpoints().count ?? 0
        }
        #expect(await eventually { await endpointCount("Replica0") == 0 }, "the dead replica is still handed out")
        #expect(await eventually { await endpointCount("Replicas") == 2 }, "the group still lists the dead replica")
        await retrying.destroy()
        await registryCommunicator.destroy()
    }
}

extension LocatorInteropTests {
    /// IceGrid's scale-out: a master and a slave registry; the locator proxy lists both. With
    /// the master stopped, lookups go to the slave, which has the master's dynamic registrations.
    @Test func lookupsFailOverFromAStoppedIceGridMasterToItsSlave() async throws {
        let (masterPort, slavePort) = (try await freePort(), try await freePort())
        var registries: [Process] = []
        defer { for registry in registries where registry.isRunning { kill(registry.processIdentifier, SIGKILL) } }
        var folders: [URL] = []
        defer { for folder in folders { try? FileManager.default.removeItem(at: folder) } }
        for (port, replica) in [(masterPort, nil), (slavePort, "Slave1")] as [(Int, String?)] {
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("floe-icegrid-\(UUID())")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            folders.append(data)
            var arguments = [
                "--nowarn", "--Ice.PrintAdapterReady=1", "--IceGrid.InstanceName=ScaleGrid",
                "--IceGrid.Registry.Client.Endpoints=tcp -h 127.0.0.1 -p \(port)",
                "--IceGrid.Registry.Server.Endpoints=tcp -h 127.0.0.1",
                "--IceGrid.Registry.Internal.Endpoints=tcp -h 127.0.0.1",
                "--IceGrid.Registry.LMDB.Path=\(data.path)", "--IceGrid.Registry.LMDB.MapSize=1",
                "--IceGrid.Registry.DynamicRegistration=1", "--IceGrid.Registry.Discovery.Enabled=0",
                "--IceGrid.Registry.AdminPermissionsVerifier=ScaleGrid/NullPermissionsVerifier",
            ]
            if let replica {
                arguments += [
                    "--IceGrid.Registry.ReplicaName=\(replica)",
                    "--Ice.Default.Locator=ScaleGrid/Locator:tcp -h 127.0.0.1 -p \(masterPort)",
                ]
            }
            let (registry, output) = try launchPeer("/usr/bin/icegridregistry", arguments)
            registries.append(registry)
            // It prints three "ready" lines, the client endpoints' last.
            var line = ""
            for _ in 0..<3 where !line.contains("Client ready") { line = try await firstLine(of: output) }
            #expect(line.contains("Client ready"), "icegridregistry: '\(line)'")
        }
        let locator = "ScaleGrid/Locator:tcp -h 127.0.0.1 -p \(masterPort):tcp -h 127.0.0.1 -p \(slavePort)"
        let (server, _, servant) = try await LocatorTests.server(locator: locator, adapterId: "Scaled")
        let client = try LocatorTests.client(locator: locator)
        let tester = try makeProxy(communicator: client, proxyString: "tester@Scaled", type: (any TesterPrx).self)
            .ice_locatorCacheTimeout(0)  // every call asks a registry
        try await tester.ping()
        let master = registries[0]
        kill(master.processIdentifier, SIGTERM)
        await offPool { master.waitUntilExit() }
        for _ in 0..<5 { try await tester.ping() }
        #expect(await servant.pings == 6)
        await client.destroy()
        await server.destroy()  // (unregistering goes to the slave, which is read-only: logged)
    }
}
