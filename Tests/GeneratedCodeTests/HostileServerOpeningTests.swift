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

    static func dropper(_ bytes: [UInt8]) async throws -> (any Channel, NIOLockedValueBox<Int>) {
        let accepted = NIOLockedValueBox(0)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Dropper(bytes, accepted))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
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
        let finished = NIOLockedValueBox(false)
        let call = Task {
            defer { finished.withLockedValue { $0 = true } }
            try await proxy.ice_ping()
        }
        let ended = await eventually(within: .seconds(10)) { finished.withLockedValue { $0 } }
        call.cancel()
        #expect(ended, "the call was still connecting after 10 s")
        await #expect(throws: LocalError.self) { try await call.value }
        // At most two connections per attempt, three attempts.
        #expect(accepted.withLockedValue { $0 } <= 6, "\(accepted.withLockedValue { $0 }) connections for one call")
        await client.destroy()
        try await listener.close()
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
        let client = Communicator(transport: NIOTransport())
        let proxy = try #require(try client.stringToProxy("x:tcp -h 127.0.0.1 -p \(listener.localAddress?.port ?? 0)"))
        try await proxy.ice_getConnection().heartbeat()
        // 16 MiB of oneway requests: more than the kernel's buffers take, so the connection
        // stops taking more.
        let fill = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        _ = try? await proxy.ice_oneway().ice_invoke(
                            operation: "fill", mode: .normal, inEncaps: Self.encapsulation(512 * 1024))
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        await #expect(throws: LocalError.self) {
            _ = try await proxy.ice_invocationTimeout(200).ice_invoke(
                operation: "givenUp", mode: .normal, inEncaps: Self.encapsulation(0))
        }
        try await reader.startReading()
        await fill.value
        try await Task.sleep(for: .milliseconds(300))
        let received = reader.received.withLockedValue { $0 }
        #expect(received.count > 8 * 1024 * 1024, "only \(received.count) bytes: the connection never filled")
        let sent = Data(received).range(of: Data("givenUp".utf8)) != nil
        #expect(!sent, "the request was written after its caller had given up")
        await client.destroy()
        try await listener.close()
    }
}
