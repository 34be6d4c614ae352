import FloeCore
import FloeEncoding
import FloeNIO
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestSupport
import Testing

/// A Floe tester server on the given endpoints, logging into `lines`.
private func server(
    _ endpoints: String, _ settings: [String: String] = [:], lines: NIOLockedValueBox<[String]> = .init([]),
    middleware: (@Sendable (any Dispatcher) -> any Dispatcher)? = nil
) async throws -> (Communicator, ObjectAdapter) {
    var properties = Properties()
    for (key, value) in settings { properties[key] = value }
    let logger = Logger(label: "server") { _ in CapturingLogHandler(lines: lines) }
    let communicator = try Communicator(
        properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(logger: logger))
    let adapter = try await communicator.createObjectAdapterWithEndpoints(name: "S", endpoints: endpoints)
    try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
    if let middleware { try adapter.use(middleware) }
    try await adapter.activate()
    return (communicator, adapter)
}

/// Keeps the upgrade headers of the connection each request came over.
private struct RecordHeaders: Dispatcher {
    let next: any Dispatcher
    let seen: NIOLockedValueBox<[[String: String]]>

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        let headers = request.current.con?.info.headers ?? [:]
        seen.withLockedValue { $0.append(headers) }
        return try await next.dispatch(request)
    }
}

private func client(_ settings: [String: String] = [:]) throws -> Communicator {
    var properties = Properties()
    for (key, value) in settings { properties[key] = value }
    properties["Ice.RetryIntervals"] = "-1"
    return try Communicator(properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
}

private func tester(_ communicator: Communicator, _ proxy: String) throws -> any TesterPrx {
    try makeProxy(communicator: communicator, proxyString: proxy, type: (any TesterPrx).self)
}

private func bytes(_ count: Int) -> Data { Data((0..<count).map { UInt8(($0 * 7) % 256) }) }

private func port(_ adapter: ObjectAdapter, _ transport: EndpointData.Transport) throws -> Int32 {
    try #require(adapter.publishedEndpoints.first { $0.transport == transport }?.port)
}

/// ws and wss endpoints: Ice messages in WebSocket frames after an HTTP upgrade (subprotocol
/// `ice.zeroc.com`), between Floe peers and with ZeroC's, and what a hostile opening gets.
@Suite("WebSocket", .serialized, .timeLimit(.minutes(3)))
struct WebSocketTests {
    @Test func floePeersOverWsAndWss() async throws {
        let certs = try await testCertificates()
        let seen = NIOLockedValueBox<[[String: String]]>([])
        let (server, adapter) = try await server(
            "ws -h 127.0.0.1 -p 0 -r /floe:wss -h 127.0.0.1 -p 0:tcp -h 127.0.0.1 -p 0", tlsProperties(certs, "server"),
            middleware: { RecordHeaders(next: $0, seen: seen) })
        // Published endpoints keep their resource, as proxies to them must.
        let published = try #require(adapter.publishedEndpoints.first { $0.transport == .ws })
        #expect(published.resource == "/floe")
        let client = try client(tlsProperties(certs, "client"))
        let ws = try tester(client, "tester:ws -h 127.0.0.1 -p \(try port(adapter, .ws)) -r /floe")
        let wss = try tester(client, "tester:wss -h 127.0.0.1 -p \(try port(adapter, .wss))")
        for proxy in [ws, wss] {
            // Small messages, and ones far bigger than a frame of NIO's default (16 KiB).
            for size in [10, 300_000] { #expect(try await proxy.opByteSeq(bytes(size)) == bytes(size)) }
        }
        #expect(try await ws.ice_getConnection().info.type == "ws")
        // The upgrade's headers: the request's on the server, the response's on the client.
        let wsPort = try port(adapter, .ws)
        let request = try #require(seen.withLockedValue { $0.first })
        #expect(request["Host"] == "127.0.0.1:\(wsPort)" && request["Upgrade"] == "websocket", "\(request)")
        #expect(request["Sec-WebSocket-Protocol"] == "ice.zeroc.com")
        let response = try await ws.ice_getConnection().info.headers
        #expect(response["Sec-WebSocket-Protocol"] == "ice.zeroc.com" && response["Sec-WebSocket-Accept"] != nil)
        let tcp = try tester(client, "tester:tcp -h 127.0.0.1 -p \(try port(adapter, .tcp))")
        try await tcp.ice_ping()
        #expect(try await tcp.ice_getConnection().info.headers.isEmpty)
        #expect(seen.withLockedValue { $0.last }?.isEmpty == true)
        let secure = try await wss.ice_getConnection().info
        #expect(secure.type == "wss" && secure.isSecure)
        #expect(secure.tls?.subject == "C=US, O=Floe Tests, CN=server")
        // A secure proxy with both endpoints takes wss; without one it fails clearly.
        let both = try tester(
            client,
            "tester:ws -h 127.0.0.1 -p \(try port(adapter, .ws)):wss -h 127.0.0.1 -p \(try port(adapter, .wss))")
        #expect(try await both.ice_secure(true).ice_getConnection().info.type == "wss")
        do {
            try await ws.ice_secure(true).ice_ping()
            Issue.record("a secure proxy used a ws endpoint")
        } catch let error as LocalError {
            #expect(error.code == .noEndpoint && error.message.contains("no ssl or wss endpoint"), "\(error)")
        }
        // Fixed to a connection, the same: wss suits a secure proxy, ws does not.
        try await wss.ice_fixed(try await wss.ice_getConnection()).ice_secure(true).ice_ping()
        do {
            try await ws.ice_fixed(try await ws.ice_getConnection()).ice_secure(true).ice_ping()
            Issue.record("a secure proxy fixed to a ws connection was sent")
        } catch let error as LocalError {
            #expect(error.code == .noEndpoint && error.message.contains("fixed to a ws connection"), "\(error)")
        }
        // Oneway requests and a graceful close from the client.
        try await ws.ice_oneway().opOneway("one")
        #expect(try await ws.onewaysReceived() == ["one"])
        await client.destroy()
        await server.destroy()
    }

    /// A Floe client to a ZeroC Python server over ws and over wss with mutual TLS.
    @Test(arguments: ["ws", "wss"])
    func floeClientToZeroCServer(_ transport: String) async throws {
        let certs = try await testCertificates()
        let (peer, output) = try launchPeer("ws_peer.py", ["server", transport, certs])
        defer { if peer.isRunning { kill(peer.processIdentifier, SIGKILL) } }
        let port = try #require(Int(try await firstLine(of: output)), "the ZeroC server did not start")
        let client = try client(tlsProperties(certs, "client"))
        let tester = try tester(client, "tester:\(transport) -h 127.0.0.1 -p \(port) -r /floe")
        for size in [10, 300_000] { #expect(try await tester.opByteSeq(bytes(size)) == bytes(size)) }
        // Concurrent calls leave in one flush: each message must keep frames of its own, or
        // ZeroC's reader closes the connection.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for size in 0..<40 {
                group.addTask {
                    let back = try await tester.opByteSeq(bytes(size))
                    #expect(back == bytes(size))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await tester.opContext("ws-type") == transport)
        #expect(try await tester.opContext("ws-header:Sec-WebSocket-Protocol") == "ice.zeroc.com")
        #expect(try await tester.opContext("ws-header:Host") == "127.0.0.1:\(port)")
        #expect(try await tester.ice_getConnection().info.headers["Sec-WebSocket-Protocol"] == "ice.zeroc.com")
        // ZeroC closes gracefully over WebSocket; the next call opens a new connection.
        try await tester.ice_getConnection().close()
        #expect(try await tester.opByteSeq(bytes(10)) == bytes(10))
        try await tester.shutdown()
        await client.destroy()
        await offPool { peer.waitUntilExit() }
        #expect(peer.terminationStatus == 0)
    }

    /// A ZeroC Python client to a Floe server over ws and wss, closing gracefully.
    @Test(arguments: ["ws", "wss"])
    func zeroCClientToFloeServer(_ transport: String) async throws {
        let certs = try await testCertificates()
        let (server, adapter) = try await server(
            "\(transport) -h 127.0.0.1 -p 0 -r /floe", tlsProperties(certs, "server"))
        let port = try port(adapter, transport == "ws" ? .ws : .wss)
        let (peer, output) = try launchPeer("ws_peer.py", ["client", transport, certs, "\(port)"])
        let transcript = try await offPool { String(decoding: try output.readToEnd() ?? Data(), as: UTF8.self) }
        await offPool { peer.waitUntilExit() }
        #expect(peer.terminationStatus == 0, "\(transcript)")
        #expect(transcript == "ok \(transport)\n")
        await server.destroy()
    }

    /// Openings a server refuses, each closing that connection with a logged reason while the
    /// server serves a real client: a plain HTTP request, another subprotocol, no upgrade
    /// within the handshake timeout, and after the upgrade a text frame, an unmasked frame, a
    /// frame longer than `Ice.MessageSizeMax`, reserved bits or opcodes, control frames that
    /// are fragmented or too long, and data frames out of their fragmentation order.
    @Test func hostileOpeningsAndFramesCloseOnlyThatConnection() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let (server, adapter) = try await server(
            // (2 s to upgrade: a loaded full run took over 500 ms to write an attack once
            // connected, and the server had closed for silence.)
            "ws -h 127.0.0.1 -p 0", ["Ice.Override.ConnectTimeout": "2000"], lines: lines)
        let port = Int(try port(adapter, .ws))
        let client = try client()
        let good = try tester(client, "tester:ws -h 127.0.0.1 -p \(port)")
        try await good.ice_ping()

        let upgrade = [
            "GET / HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Protocol: ice.zeroc.com",
        ]
        func request(_ lines: [String]) -> [UInt8] { Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) }
        let maskedText: [UInt8] = [0x81, 0x82, 1, 2, 3, 4, UInt8(ascii: "h") ^ 1, UInt8(ascii: "i") ^ 2]
        let unmaskedBinary: [UInt8] = [0x82, 0x02, 0x49, 0x63]
        let tooLong: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0x7F, 0, 0, 0, 1, 2, 3, 4]
        let key: [UInt8] = [1, 2, 3, 4]
        let attacks: [(String, [UInt8], String)] = [
            ("plain HTTP", request(["GET / HTTP/1.1", "Host: x"]), "not a WebSocket upgrade request"),
            (
                "another subprotocol",
                request(upgrade.dropLast() + ["Sec-WebSocket-Protocol: chat"]),
                "WebSocket upgrade refused: the client asks for subprotocol 'chat'"
            ),
            ("silence", [], "no WebSocket upgrade within 2000 ms"),
            ("text frame", request(upgrade) + maskedText, "WebSocket: a text frame"),
            ("unmasked frame", request(upgrade) + unmaskedBinary, "WebSocket: the client sent an unmasked frame"),
            ("frame too long", request(upgrade) + tooLong, "WebSocket: a frame longer than Ice.MessageSizeMax"),
            ("reserved bits", request(upgrade) + [0xC2, 0x80] + key, "WebSocket: a frame with reserved bits set"),
            ("reserved opcode", request(upgrade) + [0x83, 0x80] + key, "WebSocket: a frame with reserved opcode 3"),
            ("fragmented ping", request(upgrade) + [0x09, 0x80] + key, "WebSocket: a fragmented control frame"),
            (
                "long ping", request(upgrade) + [0x89, 0xFE, 0, 200] + key + Array(repeating: 0, count: 200),
                "WebSocket: a control frame longer than 125 bytes"
            ),
            (
                "lone continuation", request(upgrade) + [0x80, 0x80] + key,
                "WebSocket: a continuation frame with nothing to continue"
            ),
            (
                "binary inside a fragmented message", request(upgrade) + [0x02, 0x80] + key + [0x82, 0x80] + key,
                "WebSocket: a binary frame inside a fragmented message"
            ),
        ]
        for (name, sent, reason) in attacks {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            if !sent.isEmpty { try await channel.writeAndFlush(ByteBuffer(bytes: sent)) }
            await expectPeerCloses(channel, within: .seconds(10))
            #expect(
                lines.withLockedValue { $0 }.contains { $0.contains(reason) },
                "\(name): \(lines.withLockedValue { $0 })")
            try await good.ice_ping()
        }
        await client.destroy()
        await server.destroy()
    }
}

/// Connections that never upgrade count against `NAME.MaxConnections` while they wait (up to
/// the handshake timeout): a flood of them cannot hold more sockets than the limit.
@Suite("WebSocket connection limit", .timeLimit(.minutes(2)))
struct WebSocketConnectionLimitTests {
    @Test func unupgradedConnectionsCountAgainstMaxConnections() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let (server, adapter) = try await server(
            "ws -h 127.0.0.1 -p 0", ["S.MaxConnections": "2", "Ice.Override.ConnectTimeout": "20000"], lines: lines)
        let port = Int(try port(adapter, .ws))
        var silent: [any Channel] = []
        for _ in 0..<2 {
            silent.append(
                try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port).get())
        }
        // Both silent connections hold their places: a real client is refused, with a reason.
        // (The server takes the silent ones on other event loops: a probe must not overtake them,
        // and one that did must not keep its place, hence a communicator per probe.)
        try await Task.sleep(for: .milliseconds(200))
        #expect(
            await eventually(within: .seconds(10)) {
                guard let probe = try? client() else { return false }
                let refused = (try? await tester(probe, "tester:ws -h 127.0.0.1 -p \(port)").ice_ping()) == nil
                await probe.destroy()
                return refused
            })
        #expect(silent.allSatisfy { $0.isActive }, "the silent connections kept their places")
        #expect(
            lines.withLockedValue { $0 }.contains(
                "refusing connection: adapter 'S' has 2 connections (S.MaxConnections)"))
        // One leaves (a half-closure, which the server's channels allow): its place is free
        // again, and an upgraded connection takes it.
        try await silent.removeFirst().close()
        let accepted = try client()
        #expect(
            await eventually(within: .seconds(10)) {
                (try? await tester(accepted, "tester:ws -h 127.0.0.1 -p \(port)").ice_ping()) != nil
            })
        // Upgraded and silent, the adapter is full again.
        let third = try client()
        await #expect(throws: LocalError.self) {
            try await tester(third, "tester:ws -h 127.0.0.1 -p \(port)").ice_ping()
        }
        for channel in silent { try await channel.close() }
        for communicator in [accepted, third] { await communicator.destroy() }
        await server.destroy()
    }
}

/// A server that half-closes during the upgrade (after reading the request) fails the call at
/// once, with the reason, instead of at the connect timeout: client channels allow half-closure.
@Suite("WebSocket upgrade cut short", .timeLimit(.minutes(1)))
struct WebSocketUpgradeCutShortTests {
    final class HalfCloseOnRequest: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.close(mode: .output, promise: nil)
        }
    }

    @Test func aServerHalfClosingDuringTheUpgradeFailsTheCallAtOnce() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HalfCloseOnRequest())
                    // Hangs up after 30 s, so a client that misses the half-closure fails late.
                    channel.eventLoop.scheduleTask(in: .seconds(30)) { channel.close(promise: nil) }
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(host: "127.0.0.1", port: 0).get()
        let communicator = try client(["Ice.Override.ConnectTimeout": "20000"])
        let start = ContinuousClock.now
        do {
            try await tester(communicator, "tester:ws -h 127.0.0.1 -p \(server.localAddress?.port ?? 0)").ice_ping()
            Issue.record("the ping succeeded")
        } catch let error as LocalError {
            #expect("\(error)".contains("the server closed the connection during the WebSocket upgrade"), "\(error)")
        }
        #expect(ContinuousClock.now - start < .seconds(10))
        await communicator.destroy()
        try await server.close()
    }
}

/// The WebSocket close handshake, byte by byte, from a raw client.
@Suite("WebSocket closing", .timeLimit(.minutes(2)))
struct WebSocketClosingTests {
    private static let upgrade = Array(
        ([
            "GET /x HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Protocol: ice.zeroc.com",
        ].joined(separator: "\r\n") + "\r\n\r\n").utf8)

    /// A client frame (masked, as clients must) with a short payload.
    private static func frame(
        _ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, key: [UInt8] = [9, 8, 7, 6]
    ) -> [UInt8] {
        [(fin ? 0x80 : 0) | opcode, 0x80 | UInt8(payload.count)] + key
            + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    /// What the server sends to a client that upgrades and then sends `frames` (in writes of
    /// `chunk` bytes, a few milliseconds apart, when given), until it closes.
    private func exchange(_ frames: [UInt8], chunk: Int? = nil) async throws -> [UInt8] {
        let (server, adapter) = try await server("ws -h 127.0.0.1 -p 0")
        let collector = FramingTests.Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)  // small writes leave as they are written
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: Int(try port(adapter, .ws))).get()
        try await channel.writeAndFlush(ByteBuffer(bytes: Self.upgrade))
        var rest = frames[...]
        while !rest.isEmpty {
            let part = rest.prefix(chunk ?? rest.count)
            rest = rest.dropFirst(part.count)
            try await channel.writeAndFlush(ByteBuffer(bytes: part))
            if chunk != nil { try await Task.sleep(for: .milliseconds(2)) }
        }
        // (Generous: in a loaded fresh-clone run, two of these took 17–23 s in all, and the
        // close once came after 5 s; a server that never closes still fails.)
        await expectPeerCloses(channel, within: .seconds(20))
        await server.destroy()
        return collector.bytes.withLockedValue { $0 }
    }

    @Test func theServerUpgradesValidatesAndAnswersAClose() async throws {
        let received = try await exchange(Self.frame(0x8, [0x03, 0xE8]))
        let text = String(decoding: received, as: UTF8.self).lowercased()
        #expect(text.hasPrefix("http/1.1 101 switching protocols\r\n"))
        #expect(text.contains("sec-websocket-protocol: ice.zeroc.com\r\n"))
        // The server's validate-connection, one unmasked binary frame after the response.
        let head = try #require(text.range(of: "\r\n\r\n")).upperBound.utf16Offset(in: text)
        let validate: [UInt8] = [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 3, 0, 14, 0, 0, 0]
        #expect(Array(received[head...].prefix(16)) == [0x82, 14] + validate)
        // The close frame echoed (status 1000), unmasked, last.
        #expect(received.suffix(4) == [0x88, 0x02, 0x03, 0xE8])
    }

    @Test func aClientClosingGracefullyGetsANormalCloseFrame() async throws {
        // Ice's close-connection message, in a binary frame.
        let received = try await exchange(Self.frame(0x2, [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 4, 0, 14, 0, 0, 0]))
        #expect(received.suffix(4) == [0x88, 0x02, 0x03, 0xE8])
    }

    /// An `ice_ping` request in three fragments with different masking keys, a ping between
    /// them (RFC 6455 §5.4 lets control frames interleave), all sent three bytes at a time: the
    /// frames' headers and payloads arrive split at every offset, and their unmasking must
    /// carry on across the reads.
    @Test func aRequestInFragmentsAndPiecesIsDispatched() async throws {
        let ping: [UInt8] =
            [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 0, 0, 44, 0, 0, 0, 1, 0, 0, 0, 6]
            + Array("tester".utf8) + [0, 0, 8] + Array("ice_ping".utf8) + [1, 0, 6, 0, 0, 0, 1, 1]
        let frames =
            Self.frame(0x2, Array(ping[..<7]), fin: false, key: [1, 2, 3, 4])
            + Self.frame(0x9, Array("hi".utf8))
            + Self.frame(0x0, Array(ping[7..<30]), fin: false, key: [0xA0, 0xB1, 0xC2, 0xD3])
            + Self.frame(0x0, Array(ping[30...]), key: [0xFF, 0, 0x55, 0xAA])
            + Self.frame(0x8, [0x03, 0xE8])
        let received = try await exchange(frames, chunk: 3)
        // The pong, then the reply (unmasked, one frame): request id 1, status 0 (ok).
        func contains(_ bytes: [UInt8]) -> Bool {
            received.indices.contains { received[$0...].starts(with: bytes) }
        }
        #expect(contains([0x8A, 0x02, 0x68, 0x69]))
        let reply: [UInt8] = [0x82, 25, 0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 2, 0, 25, 0, 0, 0, 1, 0, 0, 0, 0]
        #expect(contains(reply), "\(received)")
        #expect(received.suffix(4) == [0x88, 0x02, 0x03, 0xE8])
    }

    @Test func aProtocolViolationGetsAProtocolErrorCloseFrame() async throws {
        let received = try await exchange(Self.frame(0x1, Array("hi".utf8)))
        #expect(received.suffix(4) == [0x88, 0x02, 0x03, 0xEA])
    }
}
