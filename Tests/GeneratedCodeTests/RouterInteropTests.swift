import FloeCore
import FloeEncoding
import FloeNIO
import Foundation
import NIOCore
import TestSupport
import Testing

/// Routers with Debian's `glacier2router` (ZeroC 3.7.8): a Floe client behind Glacier2 calls a
/// server it cannot name directly, and receives callbacks through the router.
@Suite("Routers: Glacier2", .serialized, .timeLimit(.minutes(3)))
struct RouterInteropTests {
    /// A running glacier2router: its client endpoint's port and the router proxy's string.
    struct Glacier2 {
        let process: Process
        let port: Int

        var transport = "tcp"
        var router: String { "FloeGlacier2/router:\(transport) -h 127.0.0.1 -p \(port)" }

        /// With `certificates`, clients reach it over ssl with a certificate of the test CA
        /// (IceSSL's mutual TLS), and may create sessions from it.
        /// `locator`: the locator Glacier2 resolves indirect proxies with.
        static func start(certificates: String? = nil, locator: String? = nil, more: [String] = []) async throws
            -> Glacier2
        {
            let port = try await freePort()
            var arguments = [
                "--Ice.PrintAdapterReady=1", "--Glacier2.InstanceName=FloeGlacier2",
                "--Glacier2.Server.Endpoints=tcp -h 127.0.0.1",
                "--Glacier2.PermissionsVerifier=FloeGlacier2/NullPermissionsVerifier",
            ]
            if let certificates {
                arguments += [
                    "--Glacier2.Client.Endpoints=ssl -h 127.0.0.1 -p \(port)",
                    "--Glacier2.SSLPermissionsVerifier=FloeGlacier2/NullSSLPermissionsVerifier",
                    "--Ice.Plugin.IceSSL=IceSSL:createIceSSL", "--IceSSL.DefaultDir=\(certificates)",
                    "--IceSSL.CAs=ca.pem", "--IceSSL.CertFile=server.pem", "--IceSSL.KeyFile=server.key",
                    "--IceSSL.VerifyPeer=2",
                ]
            } else {
                arguments.append("--Glacier2.Client.Endpoints=tcp -h 127.0.0.1 -p \(port)")
            }
            if let locator { arguments.append("--Ice.Default.Locator=\(locator)") }
            arguments += more
            let (process, output) = try launchPeer("/usr/bin/glacier2router", arguments)
            for _ in 0..<2 {
                let line = try await firstLine(of: output)
                #expect(line.hasSuffix("ready"), "glacier2router: '\(line)' \(peerErrors(process))")
            }
            return Glacier2(process: process, port: port, transport: certificates == nil ? "tcp" : "ssl")
        }

        func stop() async throws {
            kill(process.processIdentifier, SIGTERM)
            await offPool { process.waitUntilExit() }
        }
    }

    /// A client communicator whose proxies go through `router` (`Ice.Default.Router`).
    static func routedClient(_ router: String, _ more: [String: String] = [:]) throws -> Communicator {
        var properties = Properties()
        for (name, value) in more { properties[name] = value }
        properties["Ice.Default.Router"] = router
        properties["Ice.RetryIntervals"] = "-1"
        return try Communicator(properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
    }

    /// Glacier2's `createSession(userId, password)` and `getCategoryForClient()`, through
    /// `ice_invoke`: the test target does not generate Glacier2's Slice (Tests/PluginConsumer's
    /// Callback target does). Returns the category callbacks must use.
    static func createSession(_ router: any ObjectPrx) async throws -> String {
        var parameters = OutputStream(encoding: .v1_1)
        parameters.startEncapsulation(encoding: .v1_1, format: nil)
        parameters.write("floe")
        parameters.write("any password")
        parameters.endEncapsulation()
        let (created, _) = try await router.ice_invoke(
            operation: "createSession", mode: .normal, inEncaps: parameters.finished())
        #expect(created, "createSession raised a user exception")
        return try await category(router)
    }

    /// A callback object (a `TesterServant`, whose `opIdempotent` answers 7) in an adapter that
    /// takes requests through `router`, in the client's `category`.
    static func receiver(
        _ client: Communicator, _ router: any ObjectPrx, _ category: String
    ) async throws -> any TesterPrx {
        let adapter = try await client.createObjectAdapterWithRouter(name: "Callbacks", router: router)
        let proxy = try adapter.add(servant: TesterServant(), id: Identity(name: "receiver", category: category))
        try await adapter.activate()
        return uncheckedCast(prx: proxy, type: (any TesterPrx).self)
    }

    /// Glacier2's `getCategoryForClient()`, through `ice_invoke`.
    static func category(_ router: any ObjectPrx) async throws -> String {
        let (ok, result) = try await router.ice_invoke(
            operation: "getCategoryForClient", mode: .nonmutating, inEncaps: ByteBuffer(bytes: [6, 0, 0, 0, 1, 1]))
        #expect(ok)
        var stream = InputStream(buffer: result, encoding: .v1_1)
        let (encoding, content) = try stream.readEncapsulation()
        var reader = InputStream(buffer: content, encoding: encoding)
        return try reader.read(String.self)
    }

    /// Floe client → glacier2router → ZeroC Python server, and the server's callback back
    /// through the router to an adapter created with `createObjectAdapterWithRouter`.
    @Test func aFloeClientBehindGlacier2CallsAZeroCServerAndGetsCallbacks() async throws {
        let glacier2 = try await Glacier2.start()
        defer { if glacier2.process.isRunning { kill(glacier2.process.processIdentifier, SIGKILL) } }
        let (server, output) = try launchPeer("vectors_server.py", [])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let serverPort = try await firstLine(of: output)

        let client = try Self.routedClient(glacier2.router)
        let router = try #require(client.getDefaultRouter())
        #expect(router.ice_getRouter() == nil)
        let category = try await Self.createSession(router)
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(serverPort)", type: (any TesterPrx).self)
        #expect(tester.ice_getRouter()?.ice_getIdentity() == router.ice_getIdentity())
        #expect(try await tester.opIdempotent() == 7)
        // Over the router's connection, not one to the server.
        #expect(try await tester.ice_getConnection().info.remotePort == glacier2.port)

        let callback = try await Self.receiver(client, router, category)
        #expect(callback.ice_getEndpoints().contains { "\($0)".contains("127.0.0.1") })
        #expect(try await tester.opCallbackThrough(callback) == 7 + 2)
        // One adapter per router.
        await #expect(throws: LocalError.self) {
            _ = try await client.createObjectAdapterWithRouter(name: "Second", router: router)
        }

        try await tester.shutdown()
        await client.destroy()
        try await glacier2.stop()
    }

    /// The same with a Floe server behind the router, the adapter made from `NAME.Router`, and
    /// a proxy taken out of routing with `ice_router(nil)`.
    @Test func aFloeServerBehindGlacier2() async throws {
        let glacier2 = try await Glacier2.start()
        defer { if glacier2.process.isRunning { kill(glacier2.process.processIdentifier, SIGKILL) } }
        let (serverCommunicator, _, serverServant, serverPort) = try await MiddlewareTests.server([])

        var properties = Properties()
        properties["Callbacks.Router"] = glacier2.router
        properties["Tester.Proxy"] = "tester:tcp -h 127.0.0.1 -p \(serverPort)"
        properties["Tester.Proxy.Router"] = glacier2.router
        let client = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = uncheckedCast(
            prx: try #require(try client.propertyToProxy("Tester.Proxy")), type: (any TesterPrx).self)
        let router = try #require(tester.ice_getRouter())
        let category = try await Self.createSession(router)
        try await tester.ping()
        #expect(await serverServant.pings == 1)
        #expect(try await tester.ice_getConnection().info.remotePort == glacier2.port)

        let adapter = try await client.createObjectAdapter(name: "Callbacks")
        try adapter.add(servant: TesterServant(), id: Identity(name: "receiver", category: category))
        try await adapter.activate()
        let callback = uncheckedCast(
            prx: adapter.createProxy(Identity(name: "receiver", category: category)), type: (any TesterPrx).self)
        #expect(try await tester.opCallbackThrough(callback) == 9)

        // A new session (the old one ends with its connection) has an empty routing table:
        // the proxy is added again, before a oneway request too (Glacier2 refuses one to a
        // proxy not added with ObjectNotExist, which a oneway caller never hears).
        await (try await tester.ice_getConnection()).close(gracefully: true)
        _ = try await Self.createSession(router)
        try await tester.ice_oneway().ping()
        #expect(await eventually { await serverServant.pings == 2 }, "the oneway request after a new session")
        // And before a twoway request.
        await (try await tester.ice_getConnection()).close(gracefully: true)
        _ = try await Self.createSession(router)
        try await tester.ping()
        #expect(await serverServant.pings == 3)

        let direct = tester.ice_router(nil)
        #expect(try await direct.ice_getConnection().info.remotePort == Int(serverPort))
        #expect(try await direct.opIdempotent() == 7)

        await client.destroy()
        await serverCommunicator.destroy()
        try await glacier2.stop()
    }

    /// Glacier2 on ssl with mutual TLS: the session comes from the client's certificate
    /// (`createSessionFromSecureConnection`), and calls and callbacks go over the TLS connection.
    @Test func aSessionFromAClientCertificateOverSSL() async throws {
        let certs = try await testCertificates()
        let glacier2 = try await Glacier2.start(certificates: certs)
        defer { if glacier2.process.isRunning { kill(glacier2.process.processIdentifier, SIGKILL) } }
        let (serverCommunicator, _, serverServant, serverPort) = try await MiddlewareTests.server([])
        let client = try Self.routedClient(glacier2.router, tlsProperties(certs, "client"))
        let router = try #require(client.getDefaultRouter())
        let empty = ByteBuffer(bytes: [6, 0, 0, 0, 1, 1])
        let (created, _) = try await router.ice_invoke(
            operation: "createSessionFromSecureConnection", mode: .normal, inEncaps: empty)
        #expect(created, "createSessionFromSecureConnection raised a user exception")
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(serverPort)", type: (any TesterPrx).self)
        try await tester.ping()
        #expect(await serverServant.pings == 1)
        let connection = try await tester.ice_getConnection()
        #expect(connection.info.type == "ssl" && connection.info.remotePort == glacier2.port)
        let category = try await Self.category(router)
        let callback = try await Self.receiver(client, router, category)
        #expect(try await tester.opCallbackThrough(callback) == 9)
        await client.destroy()
        await serverCommunicator.destroy()
        try await glacier2.stop()
    }

    /// An indirect proxy through the router: the client has no locator; Glacier2 resolves
    /// `tester@Routed` with its own (floe-registry here), so the client must not try to.
    @Test func theRouterResolvesIndirectProxies() async throws {
        let (registryCommunicator, _, locator, _) = try await LocatorTests.registry()
        let (server, _, servant) = try await LocatorTests.server(locator: locator, adapterId: "Routed")
        let glacier2 = try await Glacier2.start(locator: locator)
        defer { if glacier2.process.isRunning { kill(glacier2.process.processIdentifier, SIGKILL) } }
        let client = try Self.routedClient(glacier2.router)
        #expect(client.defaultLocator == nil)
        _ = try await Self.createSession(try #require(client.getDefaultRouter()))
        let tester = try makeProxy(communicator: client, proxyString: "tester@Routed", type: (any TesterPrx).self)
        try await tester.ping()
        #expect(await servant.pings == 1)
        await client.destroy()
        try await glacier2.stop()
        await server.destroy()
        await registryCommunicator.destroy()
    }

    /// Glacier2's `SessionTimeout` (6 s here, leaving a loaded machine 3 s of slack per
    /// heartbeat; ZeroC's demos use 30): a client that only waits for callbacks keeps its session.
    @Test func anIdleClientOutlivesGlacier2sSessionTimeout() async throws {
        let glacier2 = try await Glacier2.start(more: ["--Glacier2.SessionTimeout=6"])
        defer { if glacier2.process.isRunning { kill(glacier2.process.processIdentifier, SIGKILL) } }
        let (serverCommunicator, _, _, serverPort) = try await MiddlewareTests.server([])
        let client = try Self.routedClient(glacier2.router)
        let router = try #require(client.getDefaultRouter())
        let category = try await Self.createSession(router)
        let callback = try await Self.receiver(client, router, category)
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(serverPort)", type: (any TesterPrx).self)
        #expect(try await tester.opCallbackThrough(callback) == 9)
        try await Task.sleep(for: .seconds(15))
        #expect(try await tester.opCallbackThrough(callback) == 9)
        await client.destroy()
        await serverCommunicator.destroy()
        try await glacier2.stop()
    }
}
