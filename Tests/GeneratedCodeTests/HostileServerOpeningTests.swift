import FloeCore
import FloeNIO
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// Servers that validate a connection and drop it at once, or never validate: a client gives up
/// within its retries, and moves on to the proxy's next endpoint, as Ice does.
@Suite("Hostile servers while connecting", .timeLimit(.minutes(1)))
struct HostileServerOpeningTests {
    /// Answers every connection with `bytes` and closes it; counts the connections.
    final class Dropper: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes: [UInt8]
        let accepted: NIOLockedValueBox<Int>
        init(_ bytes: [UInt8], _ accepted: NIOLockedValueBox<Int>) { (self.bytes, self.accepted) = (bytes, accepted) }
        func channelActive(context: ChannelHandlerContext) {
            accepted.withLockedValue { $0 += 1 }
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: bytes)), promise: nil)
            context.close(promise: nil)
        }
    }

    static let validate: [UInt8] = [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 3, 0, 14, 0, 0, 0]
    static let close: [UInt8] = [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 4, 0, 14, 0, 0, 0]

    static func dropper(_ bytes: [UInt8], port: Int = 0) async throws -> (any Channel, NIOLockedValueBox<Int>) {
        let accepted = NIOLockedValueBox(0)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Dropper(bytes, accepted))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return (listener, accepted)
    }

    /// Validate-connection and close-connection in one write, on every connection. A client that
    /// finds the connection it just opened closed connects again once, then leaves it to the
    /// call's retries (it connected again without end, when the close came first; that race
    /// did not show here before the fix, so this test guards the bound).
    @Test func aServerClosingEachConnectionAtOnceIsNotReconnectedToWithoutEnd() async throws {
        let (listener, accepted) = try await Self.dropper(Self.validate + Self.close)
        var properties = Properties()
        properties["Ice.RetryIntervals"] = "0 0"
        let client = try Communicator(properties: properties, transport: NIOTransport())
        let proxy = try #require(try client.stringToProxy("x:tcp -h 127.0.0.1 -p \(listener.localAddress?.port ?? 0)"))
        let (ended, result) = await endsWithin(.seconds(10)) { try await proxy.ice_ping() }
        #expect(ended, "the call was still connecting after 10 s (\(accepted.withLockedValue { $0 }) connections)")
        #expect(throws: LocalError.self) { try result.get() }
        // At most two connections per attempt, three attempts.
        #expect(accepted.withLockedValue { $0 } <= 6, "\(accepted.withLockedValue { $0 }) connections for one call")
        await client.destroy()
        try await listener.close()
    }

    /// A setting that fails whatever the endpoint (IceSSL files that do not load) fails the call
    /// at once: moving on to the next endpoint hid it, and the call went out in plain tcp.
    @Test func aLocalTLSMisconfigurationIsNotSkippedForTheNextEndpoint() async throws {
        let server = Communicator(transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(name: "S", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        var properties = Properties()
        properties["Ice.RetryIntervals"] = "-1"
        properties["Ice.Default.PreferSecure"] = "1"
        properties["IceSSL.CertFile"] = "/nonexistent/client.pem"
        properties["IceSSL.KeyFile"] = "/nonexistent/client.key"
        let client = try Communicator(properties: properties, transport: NIOTransport())
        let proxy = try #require(
            try client.stringToProxy(
                "tester:ssl -h 127.0.0.1 -p 1:tcp -h 127.0.0.1 -p \(adapter.endpoints.first?.port ?? 0)"))
        do {
            try await proxy.ice_ping()
            Issue.record("the call went out over tcp past a TLS setup that does not load")
        } catch let error as LocalError {
            #expect(error.code == .invalidArgument, "\(error)")
        }
        await client.destroy()
        await server.destroy()
    }

    /// A call that timed out while connecting stops there: it does not go on to the proxy's
    /// other endpoints, each waiting out its connect timeout, after its caller was told it
    /// failed. (It went through every endpoint, and then asked the locator again for an
    /// indirect proxy: a caller retrying at its own pace left one such task per call behind.)
    @Test func aCallThatTimedOutGoesNoFurther() async throws {
        // Three servers that accept connections and never validate them.
        let accepted = NIOLockedValueBox(0)
        var listeners: [any Channel] = []
        for _ in 0..<3 {
            listeners.append(
                try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .childChannelOption(.autoRead, value: false)
                    .childChannelInitializer { channel in
                        accepted.withLockedValue { $0 += 1 }
                        return channel.eventLoop.makeSucceededVoidFuture()
                    }
                    .bind(host: "127.0.0.1", port: 0).get())
        }
        var properties = Properties()
        properties["Ice.RetryIntervals"] = "-1"
        let client = try Communicator(properties: properties, transport: NIOTransport())
        let endpoints = listeners.map { "tcp -h 127.0.0.1 -p \($0.localAddress?.port ?? 0) -t 1000" }
        let proxy = try #require(try client.stringToProxy("x:" + endpoints.joined(separator: ":")))
            .ice_endpointSelection(.ordered).ice_invocationTimeout(300)
        await #expect(throws: LocalError.self) { try await proxy.ice_ping() }
        // Past the three connect timeouts the call would have waited out one after the other.
        try await Task.sleep(for: .seconds(4))
        let connections = accepted.withLockedValue { $0 }
        #expect(connections == 1, "\(connections) servers connected to after the call had timed out")
        await client.destroy()
        for listener in listeners { try? await listener.close() }
    }

    /// A server that accepts connections and never validates them; counts and keeps them.
    final class SilentServer: Sendable {
        let listener: any Channel
        private let children: NIOLockedValueBox<[any Channel]>
        var accepted: Int { children.withLockedValue { $0.count } }
        var port: Int { listener.localAddress?.port ?? 0 }

        init() async throws {
            let children = NIOLockedValueBox<[any Channel]>([])
            listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelOption(.autoRead, value: false)
                .childChannelInitializer { channel in
                    children.withLockedValue { $0.append(channel) }
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                .bind(host: "127.0.0.1", port: 0).get()
            self.children = children
        }

        func close() async {
            for child in children.withLockedValue({ $0 }) { try? await child.close() }
            try? await listener.close()
        }

        /// A client that does not retry, and its ping to this server (connect timeout `timeout`
        /// ms) in a task cancelled once the server accepted its connection.
        func cancelledPing(connectTimeout timeout: Int) async throws -> (
            Communicator, any ObjectPrx, Task<Void, any Error>
        ) {
            var properties = Properties()
            properties["Ice.RetryIntervals"] = "-1"
            let client = try Communicator(properties: properties, transport: NIOTransport())
            let proxy = try #require(try client.stringToProxy("x:tcp -h 127.0.0.1 -p \(port) -t \(timeout)"))
            let call = Task { try await proxy.ice_ping() }
            #expect(await eventually(within: .seconds(10)) { self.accepted == 1 })
            call.cancel()
            return (client, proxy, call)
        }
    }

    /// A caller without an invocation timeout that is cancelled while its connection is being
    /// opened ends at once with `CancellationError`, whatever the number of endpoints: with one
    /// it waited out the whole connect timeout (and then reported the connect's failure). The
    /// attempt itself goes on for the next caller, until the communicator is destroyed, which
    /// that caller hears as `communicatorDestroyed` (not as a cancellation it did not ask for).
    @Test func aCancelledCallerStopsWaitingForItsConnection() async throws {
        let server = try await SilentServer()
        let (client, proxy, call) = try await server.cancelledPing(connectTimeout: 30_000)
        let (ended, result) = await endsWithin(.seconds(5)) { try await call.value }
        #expect(ended, "the cancelled call still waited for its connection after 5 s")
        #expect(throws: CancellationError.self) { try result.get() }
        // The next caller waits on the same attempt: no second connection.
        let next = Task { try await proxy.ice_ping() }
        #expect(await eventually(within: .milliseconds(500)) { server.accepted > 1 } == false)
        // Destroying the communicator gives the attempt up (it waited out the connect timeout).
        let (destroyed, _) = await endsWithin(.seconds(5)) { await client.destroy() }
        #expect(destroyed, "destroy still waited for the connection being opened after 5 s")
        do {
            try await next.value
            Issue.record("a call to a server that never validates succeeded")
        } catch let error as LocalError {
            #expect(error.code == .communicatorDestroyed, "\(error)")
        }
        await server.close()
    }

    /// An attempt that fails after all its callers were cancelled leaves the table: the next
    /// call connects again (it was handed the old failure at once, for as long as the
    /// communicator lived).
    @Test func anAttemptThatFailedWithoutCallersIsNotReused() async throws {
        let server = try await SilentServer()
        let (client, proxy, call) = try await server.cancelledPing(connectTimeout: 300)
        _ = await call.result
        try await Task.sleep(for: .seconds(1))  // the attempt's 300 ms connect timeout has passed
        let next = Task { try await proxy.ice_ping() }
        #expect(await eventually(within: .seconds(10)) { server.accepted == 2 }, "the next call did not connect")
        await #expect(throws: LocalError.self) { try await next.value }
        await client.destroy()
        await server.close()
    }

    /// `ice_getConnection` keeps the proxy's invocation timeout, as in Ice, also while the
    /// locator does not answer (it waited for ever).
    @Test func getConnectionEndsAtTheInvocationTimeout() async throws {
        // A locator that validates its connections and then reads nothing.
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UnwrittenRequestTests.SlowReader())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        var properties = Properties()
        properties["Ice.Default.Locator"] = "Locator:tcp -h 127.0.0.1 -p \(listener.localAddress?.port ?? 0)"
        let client = try Communicator(properties: properties, transport: NIOTransport())
        let proxy = try #require(try client.stringToProxy("x@Somewhere")).ice_invocationTimeout(500)
        let (ended, result) = await endsWithin(.seconds(10)) { _ = try await proxy.ice_getConnection() }
        #expect(ended, "ice_getConnection was still waiting for the locator after 10 s")
        if ended {
            #expect(throws: LocalError.self) { try result.get() }
            #expect((try? result.get()) == nil)
            if case .failure(let error as LocalError) = result { #expect(error.code == .invocationTimeout, "\(error)") }
        }
        await client.destroy()
        try? await listener.close()
    }

    /// The first endpoint's server closes each connection before validating it: the call goes
    /// on to the second endpoint, as in Ice, instead of failing (only a refused or timed-out
    /// connection moved on).
    @Test func aConnectionLostWhileOpeningMovesOnToTheNextEndpoint() async throws {
        let (listener, _) = try await Self.dropper([])
        let server = Communicator(transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(name: "S", endpoints: "tcp -h 127.0.0.1 -p 0")
        let servant = TesterServant()
        try adapter.add(servant: servant, id: Identity(name: "tester"))
        try await adapter.activate()
        var properties = Properties()
        properties["Ice.RetryIntervals"] = "-1"
        let client = try Communicator(properties: properties, transport: NIOTransport())
        let tester = try makeProxy(
            communicator: client,
            proxyString:
                "tester:tcp -h 127.0.0.1 -p \(listener.localAddress?.port ?? 0):tcp -h 127.0.0.1 -p \(adapter.endpoints.first?.port ?? 0)",
            type: (any TesterPrx).self
        ).ice_endpointSelection(.ordered)
        try await tester.ping()
        #expect(await servant.pings == 1)
        await client.destroy()
        await server.destroy()
        try await listener.close()
    }
}

/// A request still waiting for the connection to take more when its caller gives up is never
/// written, as in Ice (it was written once the peer read again, after its caller had its
/// timeout: a non-idempotent call could run although its caller was told it failed).
@Suite("Requests given up before they are written", .timeLimit(.minutes(1)))
struct UnwrittenRequestTests {
    /// Validates the connection and reads nothing until `startReading`; keeps what it reads.
    final class SlowReader: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = NIOLockedValueBox<[UInt8]>([])
        let channel = NIOLockedValueBox<(any Channel)?>(nil)
        func channelActive(context: ChannelHandlerContext) {
            channel.withLockedValue { $0 = context.channel }
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: HostileServerOpeningTests.validate)), promise: nil)
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data).readableBytesView
            received.withLockedValue { $0.append(contentsOf: bytes) }
        }
        func startReading() async throws {
            try await channel.withLockedValue { $0 }?.setOption(.autoRead, value: true).get()
        }
    }

    private static func encapsulation(_ size: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(6 + size), endianness: .little)
        buffer.writeBytes([1, 1])
        buffer.writeRepeatingByte(7, count: size)
        return buffer
    }

    @Test func aTimedOutRequestThatWasNotWrittenNeverIs() async throws {
        let reader = SlowReader()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(reader) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        // (Messages of up to 32 MiB: the one request below fills the connection.)
        let client = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), messageSizeMax: 32 << 20)
        let proxy = try #require(try client.stringToProxy("x:tcp -h 127.0.0.1 -p \(listener.localAddress?.port ?? 0)"))
        try await proxy.ice_getConnection().heartbeat()
        // One 16 MiB oneway request: far more than the kernel's buffers take, so the connection
        // takes no more from the moment it is written until the peer reads. (Many smaller ones,
        // counted as they returned, measured a loaded run's scheduling rather than the
        // connection: the call below went out first, or the count lagged.)
        let fill = Task {
            _ = try? await proxy.ice_oneway().ice_invoke(
                operation: "fill", mode: .normal, inEncaps: Self.encapsulation(16 << 20))
        }
        try await Task.sleep(for: .seconds(1))
        await #expect(throws: LocalError.self) {
            _ = try await proxy.ice_invocationTimeout(200).ice_invoke(
                operation: "givenUp", mode: .normal, inEncaps: Self.encapsulation(0))
        }
        try await reader.startReading()
        await fill.value
        #expect(await eventually { reader.received.withLockedValue { $0.count } > 16 << 20 }, "the fill never came")
        try await Task.sleep(for: .milliseconds(300))
        let received = Data(reader.received.withLockedValue { $0 })
        let fillAt = received.range(of: Data("fill".utf8))?.lowerBound
        let givenUpAt = received.range(of: Data("givenUp".utf8))?.lowerBound
        // After the fill, it can only have been written once the peer read, after its caller
        // gave up. (Before it, a loaded run reached the call before the fill: the connection
        // was not full yet, and the run tells nothing.)
        if let givenUpAt, let fillAt {
            #expect(givenUpAt < fillAt, "the request was written after its caller had given up")
        }
        await client.destroy()
        try await listener.close()
    }
}

/// A server's close-connection promises that the requests it did not answer were not
/// dispatched: Ice retries them once even past the retry limit, as with
/// `Ice.RetryIntervals=-1`, which Glacier2 clients set (the call failed with closeConnection).
@Suite("Retries after close-connection", .timeLimit(.minutes(1)))
struct CloseConnectionRetryTests {
    /// Its first connection answers the first request with close-connection; later ones
    /// answer each request with an empty ok reply.
    final class ClosingOnce: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let connections: NIOLockedValueBox<Int>
        let index: Int
        let buffer = NIOLockedValueBox(ByteBuffer())
        init(_ connections: NIOLockedValueBox<Int>) {
            self.connections = connections
            index = connections.withLockedValue {
                $0 += 1
                return $0
            }
        }
        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: HostileServerOpeningTests.validate)), promise: nil)
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            let requests = buffer.withLockedValue { buffer -> [Int32] in
                buffer.writeBuffer(&incoming)
                var ids: [Int32] = []
                while buffer.readableBytes >= 14,
                    let size = buffer.getInteger(at: buffer.readerIndex + 10, endianness: .little, as: Int32.self),
                    buffer.readableBytes >= Int(size)
                {
                    if buffer.getInteger(at: buffer.readerIndex + 8, as: UInt8.self) == 0,
                        let id = buffer.getInteger(at: buffer.readerIndex + 14, endianness: .little, as: Int32.self)
                    {
                        ids.append(id)
                    }
                    buffer.moveReaderIndex(forwardBy: Int(size))
                }
                return ids
            }
            for id in requests {
                if index == 1 {
                    context.writeAndFlush(NIOAny(ByteBuffer(bytes: HostileServerOpeningTests.close)), promise: nil)
                    context.close(promise: nil)
                    return
                }
                var reply = ByteBuffer(bytes: [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 2, 0])
                reply.writeInteger(Int32(25), endianness: .little)
                reply.writeInteger(id, endianness: .little)
                reply.writeBytes([0, 6, 0, 0, 0, 1, 1])
                context.writeAndFlush(NIOAny(reply), promise: nil)
            }
        }
    }

    @Test func aRequestAnsweredWithCloseConnectionIsRetriedOnceWithRetriesOff() async throws {
        let connections = NIOLockedValueBox(0)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ClosingOnce(connections))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        var properties = Properties()
        properties["Ice.RetryIntervals"] = "-1"
        let client = try Communicator(properties: properties, transport: NIOTransport())
        let proxy = try #require(try client.stringToProxy("x:tcp -h 127.0.0.1 -p \(listener.localAddress?.port ?? 0)"))
        _ = try await proxy.ice_invoke(
            operation: "notIdempotent", mode: .normal, inEncaps: ByteBuffer(bytes: [6, 0, 0, 0, 1, 1]))
        #expect(connections.withLockedValue { $0 } == 2)
        await client.destroy()
        try await listener.close()
    }
}

/// `destroy()` closes its connections all at once: each graceful close waits for its replies up
/// to `Ice.Connection.CloseTimeout`, and one after another, N servers that never answer saw
/// their connections end N times that apart. (Measured as the spread between the ends the
/// servers see, which a loaded machine delays alike, not as the time `destroy()` takes.)
@Suite("Destroying with silent servers", .timeLimit(.minutes(1)))
struct SilentServersDestroyTests {
    /// Validates and then ignores everything; notes when its connection ends.
    final class Silent: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let ends: NIOLockedValueBox<[ContinuousClock.Instant]>
        init(_ ends: NIOLockedValueBox<[ContinuousClock.Instant]>) { self.ends = ends }
        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: HostileServerOpeningTests.validate)), promise: nil)
        }
        func channelInactive(context: ChannelHandlerContext) {
            ends.withLockedValue { $0.append(.now) }
        }
    }

    @Test func destroyClosesConnectionsToSilentServersAtOnce() async throws {
        let ends = NIOLockedValueBox<[ContinuousClock.Instant]>([])
        var listeners: [any Channel] = []
        for _ in 0..<4 {
            listeners.append(
                try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(Silent(ends))
                        }
                    }
                    .bind(host: "127.0.0.1", port: 0).get())
        }
        var properties = Properties()
        properties["Ice.Connection.CloseTimeout"] = "2"
        let client = try Communicator(properties: properties, transport: NIOTransport())
        var calls: [Task<Void, any Error>] = []
        for listener in listeners {
            let proxy = try #require(
                try client.stringToProxy("x:tcp -h 127.0.0.1 -p \(listener.localAddress?.port ?? 0)"))
            try await proxy.ice_getConnection().heartbeat()
            calls.append(Task { try await proxy.ice_ping() })
        }
        try await Task.sleep(for: .milliseconds(200))  // the pings are out, unanswered
        await client.destroy()
        #expect(await eventually(within: .seconds(20)) { ends.withLockedValue { $0.count } == 4 })
        let times = ends.withLockedValue { $0 }
        if let first = times.min(), let last = times.max() {
            // One after another: 6 s or more apart.
            #expect(last - first < .seconds(3), "the connections ended \(last - first) apart")
        }
        for call in calls { _ = await call.result }
        for listener in listeners { try await listener.close() }
    }
}
