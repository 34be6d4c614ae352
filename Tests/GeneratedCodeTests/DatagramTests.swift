import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestSupport
import Testing

private func communicator(_ settings: [String: String] = [:], lines: NIOLockedValueBox<[String]> = .init([]))
    throws -> Communicator
{
    var properties = Properties()
    for (key, value) in settings { properties[key] = value }
    properties["Ice.RetryIntervals"] = "-1"
    let logger = Logger(label: "datagrams") { _ in CapturingLogHandler(lines: lines) }
    return try Communicator(
        properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(logger: logger))
}

private func tester(_ communicator: Communicator, _ proxy: String) throws -> any TesterPrx {
    try makeProxy(communicator: communicator, proxyString: proxy, type: (any TesterPrx).self)
}

/// What `tester` received as oneways once it has `count` of them (datagrams may overtake the
/// twoway call that asks, so the test asks until they are there, for at most 5 s).
private func oneways(_ tester: any TesterPrx, count: Int) async throws -> [String] {
    let deadline = ContinuousClock.now + .seconds(5)
    while true {
        let received = try await tester.onewaysReceived()
        if received.count >= count || ContinuousClock.now > deadline { return received }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Sends to `tester` over udp a datagram, a compressed one (long enough to be compressed), a
/// batch of two and a 20 KB datagram, as `udp_peer.py` does, and returns what it received (a
/// string of 100 characters or more as its first two and its length, as the script prints it).
private func sendFiveDatagrams(to tester: any TesterPrx) async throws -> Set<String> {
    try await tester.ice_datagram().opOneway("d1")
    try await tester.ice_datagram().ice_compress(true).opOneway("z1" + String(repeating: " ", count: 300))
    let batch = tester.ice_batchDatagram()
    try await batch.opOneway("b1")
    try await batch.opOneway("b2")
    try await batch.ice_flushBatchRequests()
    try await tester.ice_datagram().opOneway("l1" + String(repeating: "x", count: 20_000))
    return Set(
        try await oneways(tester, count: 5).map { text in
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return trimmed.count < 100 ? trimmed : "\(trimmed.prefix(2)):\(trimmed.count)"
        })
}

private let fiveDatagrams: Set<String> = ["d1", "z1", "b1", "b2", "l1:20002"]

/// udp endpoints: datagram and batch datagram invocations, one message per datagram, no
/// validation, no replies; between Floe peers, with ZeroC's both ways, and what hostile
/// datagrams get.
@Suite("Datagrams", .serialized, .timeLimit(.minutes(2)))
struct DatagramTests {
    @Test func floePeersOverUdp() async throws {
        let server = try communicator()
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "S", endpoints: "tcp -h 127.0.0.1 -p 0:udp -h 127.0.0.1 -p 0")
        let servant = TesterServant()
        try adapter.add(servant: servant, id: Identity(name: "tester"))
        try await adapter.activate()
        let client = try communicator()
        // The adapter's proxy carries both endpoints; each mode takes its own.
        let twoway = try tester(client, adapter.createProxy(Identity(name: "tester")).description)
        #expect(twoway.description.contains(":udp -h 127.0.0.1 -p "))
        let datagram = twoway.ice_datagram()
        #expect(try await sendFiveDatagrams(to: twoway) == fiveDatagrams)
        #expect(try await datagram.ice_getConnection().info.type == "udp")
        #expect(try await twoway.ice_getConnection().info.type == "tcp")
        // Fixed to the udp connection, a datagram proxy goes and a twoway one is refused.
        let udp = try await datagram.ice_getConnection()
        try await datagram.ice_fixed(udp).opOneway("fixed")
        let fixedTwoway = await #expect(throws: LocalError.self) { try await twoway.ice_fixed(udp).opOneway("x") }
        #expect(fixedTwoway?.code == .noEndpoint, "\(String(describing: fixedTwoway))")
        #expect(try await oneways(twoway, count: 6).contains("fixed"))
        // Operations that return data need a twoway proxy; datagram proxies need udp endpoints.
        await #expect(throws: LocalError.self) { _ = try await datagram.onewaysReceived() }
        let tcpOnly = try tester(client, "tester -d:tcp -h 127.0.0.1 -p 4061")
        let noUdp = await #expect(throws: LocalError.self) { try await tcpOnly.opOneway("x") }
        #expect(noUdp?.code == .noEndpoint && noUdp?.message.contains("no udp endpoint") == true)
        // A message bigger than a datagram fails at the call, and the next one still goes.
        let tooBig = await #expect(throws: LocalError.self) {
            try await datagram.opOneway(String(repeating: "x", count: 70_000))
        }
        #expect(tooBig?.code == .datagramLimit, "\(String(describing: tooBig))")
        try await datagram.opOneway("after")
        #expect(try await oneways(twoway, count: 7).contains("after"))
        // Datagrams bigger than NIO's default 2,048-byte read: a request and a batch.
        try await datagram.opOneway(String(repeating: "y", count: 20_000))
        let batch = twoway.ice_batchDatagram()
        for _ in 0..<3 { try await batch.opOneway(String(repeating: "w", count: 3_000)) }
        try await batch.ice_flushBatchRequests()
        let received = try await oneways(twoway, count: 11)
        let sizes = received.map(\.count)
        #expect(sizes.contains(20_000), "a 20 KB datagram: \(sizes)")
        #expect(sizes.filter { $0 == 3_000 }.count == 3, "a 9 KB batch: \(sizes)")
        // A udp connection is never closed for idleness, even with its own ACM settings; and
        // closing it forcefully returns (it waited for a close that never came).
        let connection = try await datagram.ice_getConnection()
        await connection.setACM(timeout: 1, close: .onIdle, heartbeats: true)
        try await Task.sleep(for: .milliseconds(2_500))
        #expect(!connection.isClosed, "closed for idleness")
        let aborted = NIOLockedValueBox(false)
        let abort = Task {
            await connection.close(gracefully: false)
            aborted.withLockedValue { $0 = true }
        }
        #expect(await eventually(within: .seconds(5)) { aborted.withLockedValue { $0 } }, "abort() never returned")
        abort.cancel()
        #expect(connection.isClosed)
        await client.destroy()
        await server.destroy()
    }

    /// A Floe client to a ZeroC Python server over udp, and a ZeroC client to a Floe server.
    @Test func zeroCPeersBothWays() async throws {
        let (peer, output) = try launchPeer("udp_peer.py", ["server"])
        defer { if peer.isRunning { kill(peer.processIdentifier, SIGKILL) } }
        let proxy = try await firstLine(of: output)
        let client = try communicator()
        let zeroC = try tester(client, proxy)
        #expect(try await sendFiveDatagrams(to: zeroC) == fiveDatagrams)
        try await zeroC.shutdown()

        let server = try communicator()
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "S", endpoints: "tcp -h 127.0.0.1 -p 0:udp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let floe = adapter.createProxy(Identity(name: "tester")).description
        let (zeroCClient, transcript) = try launchPeer("udp_peer.py", ["client", floe])
        let line = try await firstLine(of: transcript)
        await offPool { zeroCClient.waitUntilExit() }
        #expect(Set(line.split(separator: " ").map(String.init)) == fiveDatagrams, "\(line)")
        await client.destroy()
        await server.destroy()
    }

    /// Datagrams a server drops, each with a warning under Ice.Warn.Connections, while it
    /// serves the next: too short, bad magic, a size bigger than the datagram, a malformed
    /// reply; a close-connection is ignored over udp, and a twoway request is dispatched as a
    /// oneway.
    @Test func hostileDatagramsLoseOnlyThemselves() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let server = try communicator(["Ice.Warn.Connections": "1"], lines: lines)
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "S", endpoints: "tcp -h 127.0.0.1 -p 0:udp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let port = try #require(adapter.publishedEndpoints.first { $0.transport == .udp }?.port)
        let tcpPort = try #require(adapter.publishedEndpoints.first { $0.transport == .tcp }?.port)
        func request(_ id: Int32, _ text: String) -> [UInt8] {
            var parameters = OutputStream(encoding: .v1_1)
            parameters.write(text)
            let message = Message.request(
                Request(
                    requestId: id, header: RequestHeader(identity: Identity(name: "tester"), operation: "opOneway"),
                    encoding: .v1_1, parameters: parameters.buffer))
            return Array(message.encode().readableBytesView)
        }
        let valid = request(0, "valid")
        var longer = valid
        longer[10] &+= 1  // claims one byte more than the datagram has
        let close: [UInt8] = [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 4, 0, 14, 0, 0, 0]
        let reply: [UInt8] = [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 2, 0, 19, 0, 0, 0, 1, 0, 0, 0, 0]
        let sender = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: Int(port)).get()
        for datagram in [Array(valid.prefix(10)), [0x49, 0x63, 0x65, 0x51] + valid.dropFirst(4), longer, reply, close] {
            try await sender.writeAndFlush(ByteBuffer(bytes: datagram))
        }
        try await sender.writeAndFlush(ByteBuffer(bytes: request(7, "twoway id")))
        try await sender.writeAndFlush(ByteBuffer(bytes: valid))
        let client = try communicator()
        let twoway = try tester(client, "tester:tcp -h 127.0.0.1 -p \(tcpPort)")
        let got = try await oneways(twoway, count: 2)
        #expect(got == ["twoway id", "valid"], "\(got) \(lines.withLockedValue { $0 })")
        let logged = lines.withLockedValue { $0 }
        #expect(logged.filter { $0.hasPrefix("udp: dropped a malformed datagram") }.count == 3, "\(logged)")
        #expect(logged.contains { $0.hasPrefix("udp: dropped a datagram: malformed reply message") }, "\(logged)")
        try await sender.close()
        await client.destroy()
        await server.destroy()
    }
}
