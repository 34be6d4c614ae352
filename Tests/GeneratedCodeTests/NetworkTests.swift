import FloeEncoding
import FloeNIO
import FloeProtocol
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import FloeCore

/// Floe client and Floe server in separate communicators, over TCP on 127.0.0.1.
@Suite("TCP: Floe to Floe", .timeLimit(.minutes(2)))
struct NetworkTests {
    struct Server {
        let communicator: Communicator
        let adapter: ObjectAdapter
        let servant = TesterServant()
        let port: Int32

        init() async throws {
            communicator = Communicator(
                sliceLoader: CompositeSliceLoader([Vectors_SliceLoader(), ServerOnly_SliceLoader()]),
                transport: NIOTransport())
            adapter = try await communicator.createObjectAdapterWithEndpoints(
                name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
            try adapter.add(servant: servant, id: Identity(name: "tester"))
            try await adapter.activate()
            port = adapter.publishedEndpoints.first?.port ?? 0
        }
    }

    private func client(_ port: Int32) throws -> (Communicator, any TesterPrx) {
        let communicator = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try makeProxy(
            communicator: communicator, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        return (communicator, tester)
    }

    @Test func callsTravelOverTCP() async throws {
        let server = try await Server()
        #expect(server.port > 0, "port 0 binds an ephemeral port and the published endpoint reports it")
        let (client, tester) = try client(server.port)
        try await tester.ice_ping()
        let r = try await tester.opPrimitives(
            b: true, y: 200, s: -2, i: 42, l: 1 << 40, f: 1.5, d: 3.25, str: "h\u{e9}llo")
        #expect(r.returnValue == "True|200|-2|42|1099511627776|1.5|3.25|h\u{e9}llo" && r.dout == 6.5)
        let n1 = Node(value: 1, next: nil)
        n1.next = Node(value: 2, next: n1)
        let back = try await tester.opNodeSliced(n1)
        #expect(back?.next?.next === back)
        await #expect(throws: DerivedError.self) { try await tester.opThrow(3) }
        #expect(try await tester.opContext("k", context: ["k": "v"]) == "v")
        await client.destroy()
        await server.communicator.destroy()
    }

    @Test func manyOutstandingRequestsOnOneConnection() async throws {
        let server = try await Server()
        let (client, tester) = try client(server.port)
        let results = try await withThrowingTaskGroup(of: Int32.self) { group in
            for i in 0..<200 {
                group.addTask { try await tester.opOptional(i: Int32(i)).returnValue ?? -1 }
            }
            var all: [Int32] = []
            for try await value in group { all.append(value) }
            return all.sorted()
        }
        #expect(results == (1...200).map(Int32.init))
        await client.destroy()
        await server.communicator.destroy()
    }

    @Test func aMalformedFrameClosesOnlyItsConnection() async throws {
        let server = try await Server()
        let (client, tester) = try client(server.port)
        try await tester.ice_ping()
        // A raw socket that sends a bad magic.
        let bad = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: Int(server.port)).get()
        try await bad.writeAndFlush(ByteBuffer(bytes: Array("NotIceP".utf8) + [UInt8](repeating: 0, count: 7)))
        await expectPeerCloses(bad)  // the server hung up on it
        try await tester.ice_ping()  // everyone else is still served
        await client.destroy()
        await server.communicator.destroy()
    }

    @Test func batchOnewayRequestsWaitForTheFlushAndArriveInOrder() async throws {
        let server = try await Server()
        let (client, tester) = try client(server.port)
        let batch = tester.ice_batchOneway()
        for word in ["a", "b", "c"] { try await batch.opOneway(word) }
        try await tester.ice_ping()  // a twoway round trip on the same connection
        #expect(await server.servant.onewayMessages.isEmpty, "nothing is sent before the flush")
        try await batch.ice_flushBatchRequests()
        for _ in 0..<200 where await server.servant.onewayMessages.count < 3 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await server.servant.onewayMessages == ["a", "b", "c"])
        await client.destroy()
        await server.communicator.destroy()
    }

    /// A batch that reaches `Ice.BatchAutoFlushSize` (1 MiB) goes without a flush, before the
    /// request that would take it past: with it, the message outgrew the server's 1 MiB
    /// `Ice.MessageSizeMax`, and the server closed the connection, losing the batch.
    @Test func anAutomaticallyFlushedBatchStaysWithinTheMessageLimit() async throws {
        let server = try await Server()
        let (client, tester) = try client(server.port)
        let batch = tester.ice_batchOneway()
        let text = String(repeating: "x", count: 10_000)
        for _ in 0..<150 { try await batch.opOneway(text) }
        try await batch.ice_flushBatchRequests()
        #expect(await eventually { await server.servant.onewayMessages.count == 150 })
        #expect(try await tester.opIdempotent() == 7)
        await client.destroy()
        await server.communicator.destroy()
    }

    /// Batched requests queued on a connection the server then closes (as its inactivity close
    /// does) are not lost: they go first on the next connection to that server, at the flush or
    /// at any request. (They went with the connection, and the flush succeeded.)
    @Test func aBatchQueuedOnAConnectionThatClosesGoesOnTheNext() async throws {
        let server = try await Server()
        let (client, tester) = try client(server.port)
        let batch = tester.ice_batchOneway()
        let first = try await tester.ice_getConnection()
        for word in ["a", "b"] { try await batch.opOneway(word) }
        for connection in server.adapter.openConnections { await connection.close() }
        #expect(await eventually { first.isClosed })
        // (Closed a moment before its batch is kept for the next connection.)
        try await Task.sleep(for: .milliseconds(100))
        try await batch.opOneway("c")
        try await batch.ice_flushBatchRequests()
        #expect(await eventually { await server.servant.onewayMessages == ["a", "b", "c"] })

        // The next request to that place, of any kind, takes it first; then the communicator's
        // flush sends it.
        let second = try await tester.ice_getConnection()
        try await batch.opOneway("d")
        for connection in server.adapter.openConnections { await connection.close() }
        #expect(await eventually { second.isClosed })
        try await Task.sleep(for: .milliseconds(100))
        try await tester.ice_ping()
        await client.flushBatchRequests()
        #expect(await eventually { await server.servant.onewayMessages == ["a", "b", "c", "d"] })
        await client.destroy()
        await server.communicator.destroy()
    }

    /// A communicator made with `messageSizeMax: 0` has no limit, as `Ice.MessageSizeMax=0`
    /// says. (It refused every message, its peer's requests included.)
    @Test func aMessageSizeMaxOfZeroIsNoLimit() async throws {
        let server = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), messageSizeMax: 0)
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let (client, tester) = try client(adapter.endpoints.first?.port ?? 0)
        #expect(try await tester.opIdempotent() == 7)
        await client.destroy()
        await server.destroy()
    }

    /// `Communicator.flushBatchRequests()` sends the batches of every connection, here two
    /// connections (by connection id) to one server.
    @Test func theCommunicatorFlushesEveryConnectionsBatch() async throws {
        let server = try await Server()
        let (client, tester) = try client(server.port)
        try await tester.ice_batchOneway().opOneway("a")
        try await tester.ice_connectionId("other").ice_batchOneway().opOneway("b")
        try await tester.ice_ping()
        #expect(await server.servant.onewayMessages.isEmpty, "nothing is sent before the flush")
        await client.flushBatchRequests()
        #expect(await eventually { await server.servant.onewayMessages.sorted() == ["a", "b"] })
        await client.destroy()
        await server.communicator.destroy()
    }

    @Test func aFloodOfOnewaysArrivesWhole() async throws {
        let server = try await Server()
        let (client, tester) = try client(server.port)
        let oneway = tester.ice_oneway()
        // About 1.5 MB of requests: far above the connection's high-water mark, so callers
        // must wait for it to drain rather than queue without bound.
        let count = 20_000
        let text = String(repeating: "x", count: 40)
        for _ in 0..<count { try await oneway.opOneway(text) }
        try await tester.ice_ping()
        for _ in 0..<500 where await server.servant.onewayMessages.count < count {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await server.servant.onewayMessages.count == count)
        await client.destroy()
        await server.communicator.destroy()
    }

    @Test func aConnectionActorRunsOnItsConnectionsEventLoop() async throws {
        let server = try await Server()
        let (client, tester) = try client(server.port)
        let connection = try await tester.ice_getConnection()
        let loop = try #require(ConnectionActor(connection))
        #expect(try await Self.calls(tester, on: loop) == [true, true, true])
        await client.destroy()
        await server.communicator.destroy()
    }

    /// Calls made isolated to the actor run on the connection's event loop, before and after
    /// each reply.
    private static func calls(_ tester: any TesterPrx, on loop: isolated ConnectionActor) async throws -> [Bool] {
        var onLoop = [loop.eventLoop.inEventLoop]
        try await tester.ice_ping()
        onLoop.append(loop.eventLoop.inEventLoop)
        _ = try await tester.opIdempotent()
        onLoop.append(loop.eventLoop.inEventLoop)
        return onLoop
    }

    @Test func unreachableEndpointsFailWithConnectionRefused() async throws {
        let (client, tester) = try client(1)
        do {
            try await tester.ice_ping()
            Issue.record("no error")
        } catch let error as LocalError {
            #expect(error.code == .connectionRefused)
        }
        await client.destroy()
    }
}

extension NetworkTests {
    /// A request over a server's `Ice.MessageSizeMax` closes the connection, as in Ice, and the
    /// caller's error says the request's size may be why (it read "the connection was lost"
    /// and nothing more, compressed or not).
    @Test(arguments: [false, true])
    func aRequestTooBigForThePeerSaysSo(compressed: Bool) async throws {
        let server = try await Server()
        var properties = Properties()
        properties["Ice.MessageSizeMax"] = "8192"
        let client = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(server.port)", type: (any TesterPrx).self
        ).ice_compress(compressed)
        do {
            _ = try await tester.opByteSeq(Data([UInt8](repeating: 7, count: 2_000_000)))
            Issue.record("the server took a 2 MB request past its 1 MiB limit")
        } catch let error as LocalError {
            #expect(error.code == .connectionLost, "\(error)")
            #expect(error.message.contains("Ice.MessageSizeMax"), "\(error)")
        }
        try await tester.ice_ping()  // a new connection serves
        await client.destroy()
        await server.communicator.destroy()
    }
}
