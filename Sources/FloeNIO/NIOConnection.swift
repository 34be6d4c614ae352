import FloeCore
import FloeProtocol
import NIOCore

/// A `Connection` over one NIO channel; its state lives in the channel's handler, on the
/// channel's event loop.
final class NIOConnection: Connection {
    private let channel: any Channel
    private let handler: NIOLoopBound<IceConnectionHandler>

    private init(channel: any Channel, handler: NIOLoopBound<IceConnectionHandler>) {
        self.channel = channel
        self.handler = handler
    }

    static func make(channel: any Channel) async throws -> NIOConnection {
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: IceConnectionHandler.self),
                eventLoop: channel.eventLoop)
        }.get()
        return NIOConnection(channel: channel, handler: handler)
    }

    func waitUntilValidated() async throws {
        let handler = handler
        try await channel.eventLoop.flatSubmit { handler.value.validated }.get()
    }

    var isClosed: Bool { !channel.isActive }

    func send(_ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode) async throws -> Reply? {
        let handler = handler
        return try await channel.eventLoop.flatSubmit {
            handler.value.send(header, parameters: parameters, mode: mode)
        }.get()
    }

    func flushBatchRequests() async throws {
        let handler = handler
        try await channel.eventLoop.flatSubmit { handler.value.flushBatch() }.get()
    }

    func close() async {
        let handler = handler
        try? await channel.eventLoop.flatSubmit { handler.value.closeGracefully() }.get()
    }
}
