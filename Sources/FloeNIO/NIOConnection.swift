import FloeCore
import FloeProtocol
import NIOCore

/// A `Connection` over one NIO channel; its state lives in the channel's handler, on the
/// channel's event loop.
final class NIOConnection: Connection {
    private let channel: any Channel
    private let handler: NIOLoopBound<IceConnectionHandler>
    let communicator: Communicator
    let description: String
    var eventLoop: any EventLoop { channel.eventLoop }

    init(channel: any Channel, handler: NIOLoopBound<IceConnectionHandler>, communicator: Communicator) {
        self.channel = channel
        self.handler = handler
        self.communicator = communicator
        let local = channel.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
        let remote = channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
        description = "local address = \(local)\nremote address = \(remote)"
    }

    /// The connection of a channel whose pipeline has an `IceConnectionHandler`.
    static func of(_ channel: any Channel) async throws -> NIOConnection {
        try await channel.eventLoop.submit {
            let handler = try channel.pipeline.syncOperations.handler(type: IceConnectionHandler.self)
            guard let connection = handler.connection else {
                throw LocalError(.connectionLost, "the connection closed while opening")
            }
            return connection
        }.get()
    }

    func waitUntilValidated() async throws {
        let handler = handler
        try await channel.eventLoop.flatSubmit { handler.value.validated }.get()
    }

    var isClosed: Bool { !channel.isActive }

    func send(_ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode) async throws -> Reply? {
        let handler = handler
        let loop = channel.eventLoop
        // Already on the loop (Swift concurrency running on NIO's event loops): no hop.
        if loop.inEventLoop {
            if mode == .twoway {
                // The handler resumes this caller with the reply; no future in between.
                return try await withUnsafeThrowingContinuation { continuation in
                    do {
                        _ = try handler.value.start(
                            header, parameters: parameters, mode: mode, replyTo: .continuation(continuation))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
            // A oneway request is done once queued: no suspension at all.
            switch try handler.value.start(header, parameters: parameters, mode: mode, replyTo: nil) {
            case .sent, .awaitingReply: return nil
            case .awaitingWritable(let writable):
                try await writable.get()
                return nil
            }
        }
        return try await loop.flatSubmit { handler.value.send(header, parameters: parameters, mode: mode) }.get()
    }

    func flushBatchRequests() async throws {
        let handler = handler
        try await channel.eventLoop.flatSubmit { handler.value.flushBatch() }.get()
    }

    func close() async {
        let handler = handler
        try? await channel.eventLoop.flatSubmit { handler.value.closeGracefully() }.get()
    }

    func setAdapter(_ adapter: ObjectAdapter?) async {
        let handler = handler
        try? await channel.eventLoop.submit { handler.value.adapter = adapter }.get()
    }

    func getAdapter() async -> ObjectAdapter? {
        let handler = handler
        return try? await channel.eventLoop.submit { handler.value.adapter }.get()
    }
}
