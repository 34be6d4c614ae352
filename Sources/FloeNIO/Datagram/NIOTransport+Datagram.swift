import FloeCore
import FloeEncoding
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// udp endpoints: a client connects a datagram socket to the server (the kernel then drops
/// datagrams from anyone else), a server binds one that every peer's datagrams reach. Neither
/// validates, and the connection is usable at once.
extension NIOTransport {
    func connectDatagrams(to endpoint: IPEndpointData, host: String, _ communicator: Communicator) async throws
        -> any Connection
    {
        let logger = logger
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    Self.addDatagramHandlers(to: channel, communicator: communicator, adapter: nil, logger: logger)
                }
                .connect(host: host, port: Int(endpoint.port)).get()
        } catch {
            throw LocalError(.connectionRefused, "cannot open a udp socket to \(host):\(endpoint.port)", cause: error)
        }
        let connection = try await NIOConnection.of(channel, closeReason: .init(nil))
        try await connection.waitUntilValidated()
        return connection
    }

    func bindDatagrams(host: String, endpoint: IPEndpointData, adapter: ObjectAdapter) async throws -> any Channel {
        let logger = logger
        let communicator = adapter.communicator
        do {
            return try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                // NIO reads datagrams into 2,048 bytes by default and truncates the rest: every
                // longer message (a batch, a request over 2 KB) was dropped as malformed.
                .channelOption(
                    .recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagramSize)
                )
                .channelInitializer { channel in
                    Self.addDatagramHandlers(to: channel, communicator: communicator, adapter: adapter, logger: logger)
                }
                .bind(host: host, port: Int(endpoint.port)).get()
        } catch {
            throw LocalError(.socket, "cannot listen on udp \(host):\(endpoint.port): \(error)", cause: error)
        }
    }

    private static func addDatagramHandlers(
        to channel: any Channel, communicator: Communicator, adapter: ObjectAdapter?, logger: Logger
    ) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let warn = communicator.connectionOptions.warnConnections
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(
                DatagramStream(isClient: adapter == nil) { reason in
                    ClosingReason(reason, code: .connectionLost).log(
                        logger, communicator, warnConnections: warn, what: "udp")
                })
            try pipeline.addHandler(
                IceConnectionHandler(
                    communicator: communicator, adapter: adapter, eventLoop: channel.eventLoop, logger: logger,
                    transport: .udp))
        }
    }
}
