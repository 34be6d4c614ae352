import FloeBZip2
import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import FloeZlib
import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing

private let bzip2Magic = "bzip2"
private let zlibMagic = "zlib"

/// A Floe tester server on 127.0.0.1, and a tap in front of it.
private func tappedServer(_ properties: Properties = Properties()) async throws -> (Communicator, WireTap) {
    let server = try Communicator(properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
    let adapter = try await server.createObjectAdapterWithEndpoints(name: "S", endpoints: "tcp -h 127.0.0.1 -p 0")
    try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
    try await adapter.activate()
    let tap = try await WireTap.start(toPort: Int(adapter.publishedEndpoints.first?.port ?? 0))
    return (server, tap)
}

private func client(_ settings: [String: String] = [:]) throws -> Communicator {
    var properties = Properties()
    for (key, value) in settings { properties[key] = value }
    return try Communicator(properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
}

private func tester(_ communicator: Communicator, port: Int, options: String = "") throws -> any TesterPrx {
    try makeProxy(
        communicator: communicator, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)\(options)",
        type: (any TesterPrx).self)
}

private let payload = Data((0..<2_000).map { UInt8(($0 * 7) % 251) })

/// Ice's message compression on the wire (issue 17), seen through a tap: the status byte, the
/// 100-byte threshold, the codec each side picks, and ZeroC peers both ways.
@Suite("Message compression", .serialized, .timeLimit(.minutes(2)))
struct CompressionTests {
    /// A Floe client's first compressed request is bzip2 and announces zlib; the Floe server
    /// answers in zlib, and the connection uses zlib from then on.
    @Test func floeToFloeSwitchesToZlibAfterTheFirstExchange() async throws {
        let (server, tap) = try await tappedServer()
        let client = try client()
        let tester = try tester(client, port: tap.port, options: " -z")
        for _ in 0..<3 { #expect(try await tester.opByteSeq(payload) == payload) }
        let calls = tap.calls
        #expect(calls.count == 6)
        #expect(calls.map(\.compression) == Array(repeating: 2, count: 6))
        #expect(calls.map(\.streamStart) == [bzip2Magic, zlibMagic, zlibMagic, zlibMagic, zlibMagic, zlibMagic])
        #expect(calls.allSatisfy { $0.size < 1_000 }, "\(calls)")  // 2,000 bytes that compress well
        await client.destroy()
        await server.destroy()
        await tap.close()
    }

    /// The announcement is the runtime's business: a Floe servant never sees it.
    @Test func theAnnouncementIsStrippedBeforeDispatch() async throws {
        let (server, tap) = try await tappedServer()
        let client = try client()
        let tester = try tester(client, port: tap.port, options: " -z")
        #expect(try await tester.opContext("floe-compress") == "")
        await client.destroy()
        await server.destroy()
        await tap.close()
    }

    /// Below 100 bytes nothing is compressed: the request says with status 1 that a
    /// compressed reply is welcome, and a large reply comes back compressed. (The first reply
    /// is the exception: small as it is, it comes in zlib, to show the client that it may.)
    @Test func smallRequestsGoUncompressedAndLargeRepliesComeBackCompressed() async throws {
        let (server, tap) = try await tappedServer()
        let client = try client()
        let tester = try tester(client, port: tap.port, options: " -z")
        try await tester.ice_ping()
        try await tester.ice_ping()
        let reply = try await tester.opByteSeq(Data([1, 2, 3]), context: ["reply-size": "5000"])
        #expect(reply == Data([UInt8](repeating: 7, count: 5_000)))
        let calls = tap.calls
        #expect(calls.map(\.toServer) == [true, false, true, false, true, false])
        #expect(calls.map(\.compression) == [1, 2, 1, 1, 1, 2], "\(calls)")
        #expect(calls[1].streamStart == zlibMagic)
        #expect(calls[5].streamStart == zlibMagic)
        #expect(calls[5].size < 200)
        await client.destroy()
        await server.destroy()
        await tap.close()
    }

    /// Large requests with small replies (a sender's workload) switch to zlib too: the small
    /// reply to the announcing request comes in zlib.
    @Test func smallRepliesStillShowThatTheServerReadsZlib() async throws {
        let (server, tap) = try await tappedServer()
        let client = try client()
        let tester = try tester(client, port: tap.port, options: " -z")
        for _ in 0..<3 { _ = try await tester.opByteSeq(payload, context: ["reply-size": "1"]) }
        let calls = tap.calls
        #expect(calls.map(\.compression) == [2, 2, 2, 1, 2, 1], "\(calls)")
        #expect(calls.map(\.streamStart) == [bzip2Magic, zlibMagic, zlibMagic, nil, zlibMagic, nil])
        await client.destroy()
        await server.destroy()
        await tap.close()
    }

    /// Compression is asked for, not assumed: without -z nothing is compressed; ice_compress,
    /// the endpoint's -z and Ice.Override.Compress decide, in Ice's order.
    @Test func compressionIsOnlyWhereAsked() async throws {
        let (server, tap) = try await tappedServer()
        let plain = try client()
        _ = try await tester(plain, port: tap.port).opByteSeq(payload)
        _ = try await tester(plain, port: tap.port, options: " -z").ice_compress(false).opByteSeq(payload)
        #expect(tap.calls.map(\.compression) == [0, 0, 0, 0])
        _ = try await tester(plain, port: tap.port).ice_compress(true).opByteSeq(payload)
        #expect(tap.calls.suffix(2).map(\.compression) == [2, 2])
        let overriding = try client(["Ice.Override.Compress": "1"])
        _ = try await tester(overriding, port: tap.port).opByteSeq(payload)
        #expect(tap.calls.suffix(2).map(\.compression) == [2, 2])
        let overridingOff = try client(["Ice.Override.Compress": "0"])
        _ = try await tester(overridingOff, port: tap.port, options: " -z").opByteSeq(payload)
        #expect(tap.calls.suffix(2).map(\.compression) == [0, 0])
        for communicator in [plain, overriding, overridingOff] { await communicator.destroy() }
        await server.destroy()
        await tap.close()
    }

    /// `Floe.Compression.Codec=bzip2` never sends zlib and never announces it; `zlib` sends
    /// zlib from the first request. A Floe server answers in the codec the request came in.
    @Test(arguments: [("bzip2", bzip2Magic), ("zlib", zlibMagic)])
    func aConfiguredCodecIsUsedBothWays(codec: String, magic: String) async throws {
        let (server, tap) = try await tappedServer()
        let client = try client(["Floe.Compression.Codec": codec, "Ice.Compression.Level": "9"])
        let tester = try tester(client, port: tap.port, options: " -z")
        for _ in 0..<2 { #expect(try await tester.opByteSeq(payload) == payload) }
        #expect(tap.calls.map(\.streamStart) == Array(repeating: magic, count: 4), "\(tap.calls)")
        await client.destroy()
        await server.destroy()
        await tap.close()
    }

    @Test func badSettingsAreRefused() {
        #expect(throws: LocalError.self) { try client(["Floe.Compression.Codec": "lz4"]) }
        #expect(throws: LocalError.self) { try client(["Ice.Compression.Level": "10"]) }
    }

    /// A batch with a compressed request in it goes out compressed.
    @Test func batchesAreCompressed() async throws {
        let (server, tap) = try await tappedServer()
        let client = try client()
        let tester = try tester(client, port: tap.port, options: " -z").ice_batchOneway()
        let text = String(repeating: "a string that compresses well; ", count: 60)
        for _ in 0..<3 { try await tester.opOneway(text) }
        try await tester.ice_flushBatchRequests()
        try await Task.sleep(for: .milliseconds(200))
        let batches = tap.messages.filter { $0.type == 1 }
        #expect(batches.map(\.compression) == [2])
        #expect(batches.first.map { $0.size < 1_000 } == true)
        await client.destroy()
        await server.destroy()
        await tap.close()
    }

    /// A ZeroC server ignores the announcement and answers in bzip2: the Floe client never
    /// sends it zlib, and stops announcing once it has seen the bzip2 answer.
    @Test func aZeroCServerGetsBzip2Only() async throws {
        let (peer, output) = try launchPeer("vectors_server.py", [])
        defer { if peer.isRunning { kill(peer.processIdentifier, SIGKILL) } }
        let port = try #require(Int(try await firstLine(of: output)), "the ZeroC server did not start")
        let tap = try await WireTap.start(toPort: port)
        let client = try client()
        let tester = try tester(client, port: tap.port, options: " -z")
        #expect(try await tester.opContext("floe-compress") == "zlib")  // unknown yet: announced
        for _ in 0..<3 { #expect(try await tester.opByteSeq(payload) == payload) }
        #expect(try await tester.opContext("floe-compress") == "")  // learned: no more
        let compressed = tap.calls.filter { $0.compression == 2 }
        #expect(compressed.count == 6)
        #expect(compressed.allSatisfy { $0.streamStart == bzip2Magic }, "\(compressed)")
        try await tester.shutdown()
        await client.destroy()
        await tap.close()
    }

    /// A ZeroC client whose endpoint has -z: its large requests arrive compressed in bzip2 and
    /// are answered in bzip2, which it reads.
    @Test func aZeroCClientGetsBzip2Replies() async throws {
        let (server, tap) = try await tappedServer()
        let (client, output) = try launchPeer("compress_client.py", ["\(tap.port)"])
        let transcript = try await offPool { String(decoding: try output.readToEnd() ?? Data(), as: UTF8.self) }
        await offPool { client.waitUntilExit() }
        #expect(client.terminationStatus == 0, "\(transcript)")
        #expect(transcript == "ok 2000\nok 50\nok 300000\n")
        let calls = tap.calls
        #expect(calls.map(\.compression) == [2, 2, 1, 1, 2, 2], "\(calls)")
        #expect(calls.compactMap(\.streamStart).allSatisfy { $0 == bzip2Magic })
        await server.destroy()
        await tap.close()
    }

    /// A small message announcing 2,000 bytes whose stream would inflate to 10 MB closes its
    /// connection, having inflated no more than 2,000 bytes; other clients go on.
    @Test(arguments: [(2_000, "bzip2"), (2_000_000_000, "bzip2"), (2_000, "zlib"), (2_000_000_000, "zlib")])
    func aCompressionBombClosesOnlyItsConnection(announced: Int, codec: String) async throws {
        let (server, tap) = try await tappedServer()
        let client = try client()
        let tester = try tester(client, port: tap.port)
        try await tester.ice_ping()
        let zeros = ByteBuffer(repeating: 0, count: 10_000_000)
        let stream =
            codec == "zlib" ? try ZlibCodec().compress(zeros, level: 9) : try BZip2Codec().compress(zeros, level: 9)
        var bomb = ByteBuffer(bytes: [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 0, 2])
        bomb.writeInteger(Int32(14 + 4 + stream.readableBytes), endianness: .little)
        bomb.writeInteger(Int32(truncatingIfNeeded: announced), endianness: .little)
        bomb.writeImmutableBuffer(stream)
        let raw = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: tap.port).get()
        try await raw.writeAndFlush(bomb)
        await expectPeerCloses(raw)
        #expect(try await tester.opIdempotent() == 7, "the other connection still works")
        await client.destroy()
        await server.destroy()
        await tap.close()
    }
}
