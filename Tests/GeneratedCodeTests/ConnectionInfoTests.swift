import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import NIOConcurrencyHelpers
import Testing

/// `Current.con` tells a servant who called (issue 15), and a server learns when a client's
/// connection goes away.
@Suite("Connection info")
struct ConnectionInfoTests {
    /// Answers every request, keeping the connection it came on.
    struct RecordingServant: Dispatcher {
        let connections: NIOLockedValueBox<[any Connection]>
        func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
            if let con = request.current.con { connections.withLockedValue { $0.append(con) } }
            return try request.current.makeResponse()
        }
    }

    @Test func bothEndsSeeAddressesPortsAndWhenTheOtherLeaves() async throws {
        let seen = NIOLockedValueBox<[any Connection]>([])
        let server = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: RecordingServant(connections: seen), id: Identity(name: "it"))
        try await adapter.activate()
        let port = adapter.publishedEndpoints.first?.port ?? 0
        let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let proxy = try makeProxy(
            communicator: client, proxyString: "it:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        try await proxy.ice_ping()
        let clientSide = try await proxy.ice_getConnection().info
        let serverConnection = try #require(seen.withLockedValue { $0.first })
        let serverSide = serverConnection.info
        #expect(!clientSide.incoming && serverSide.incoming)
        #expect(clientSide.type == "tcp" && !clientSide.isSecure && serverSide.type == "tcp")
        #expect(clientSide.remoteAddress == "127.0.0.1" && clientSide.remotePort == Int(port))
        #expect(serverSide.localPort == Int(port))
        #expect(serverSide.remotePort == clientSide.localPort && clientSide.localPort > 0)

        let left = NIOLockedValueBox(false)
        serverConnection.onClose { left.withLockedValue { $0 = true } }
        #expect(!left.withLockedValue { $0 })
        await client.destroy()
        #expect(await eventually { left.withLockedValue { $0 } }, "the server never saw the client leave")
        // NIO forgets a closed channel's addresses; the connection still names its peer.
        #expect(serverConnection.info.remoteAddress == "127.0.0.1")
        #expect(serverConnection.info.remotePort == clientSide.localPort)
        // Registered after the close: called at once.
        let late = NIOLockedValueBox(false)
        serverConnection.onClose { late.withLockedValue { $0 = true } }
        #expect(await eventually { late.withLockedValue { $0 } })
        await server.destroy()
    }

    /// `close(gracefully: false)` drops the connection at once: the caller's outstanding call
    /// fails with `connectionLost` instead of waiting for its reply, and the server cancels the
    /// dispatch whose reply has nowhere to go.
    @Test func aForcefulCloseFailsOutstandingCallsAtOnce() async throws {
        let (server, _, servant, port) = try await MiddlewareTests.server([])
        let (client, tester) = try MiddlewareTests.client(port)
        try await tester.ice_ping()
        let connection = try await tester.ice_getConnection()
        let call = Task { try await tester.ping(context: ["sleep": "30"]) }
        #expect(await eventually { await servant.runningPings == 1 })
        let start = ContinuousClock.now
        await connection.close(gracefully: false)
        #expect(connection.isClosed)
        await #expect(throws: LocalError.self) { try await call.value }
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(await eventually { await servant.cancelledPings == 1 }, "the server kept dispatching")
        await client.destroy()
        await server.destroy()
    }
}
