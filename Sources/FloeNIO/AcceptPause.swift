import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Stops a listener accepting for a second when `accept` fails for want of resources — out of
/// file descriptors, most often, with every connection the process can hold already open — and
/// says so once per shortage (until a connection is accepted again), as Ice's "can't accept more
/// connections" does.
///
/// NIO leaves such a listener registered for reading, and the waiting connection keeps it
/// readable: without the pause, `accept` fails again at once and the event loop spins at full
/// CPU for as long as the shortage lasts. (NIO's `AcceptBackoffHandler` only delays the next
/// read it is asked for, and after a failed `accept` none is asked for, so it does not stop the
/// spin.) Other failures are left to NIO: `ECONNABORTED` is one client giving up, not a reason
/// to keep the others waiting.
final class AcceptPause: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    static let pause = TimeAmount.seconds(1)
    private let transport: String
    private let logger: Logger
    private var resume: Scheduled<Void>?
    private var warned = false

    init(transport: String, logger: Logger) {
        self.transport = transport
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        guard resume == nil, let options = context.channel.syncOptions else { return }
        if !warned {
            warned = true
            let address = context.channel.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
            let reason = String(cString: strerror(error.errnoCode)).lowercased()
            logger.warning(
                "cannot accept more \(transport) connections at \(address): \(reason); pausing 1 s at a time until one is accepted"
            )
        }
        try? options.setOption(.autoRead, value: false)
        let channel = context.channel
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: Self.pause) { [weak self] in
            self?.resume = nil
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        warned = false
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }
}
