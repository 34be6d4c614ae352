import NIOCore
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// Whether a server process answers at a TLS endpoint, told without completing a handshake it
/// might refuse (a registry without a client certificate, probing servers that require one):
/// a ClientHello goes out, and the first bytes back, or the server closing or resetting the
/// connection, show a live process. The probe then closes its side of the TCP connection
/// under the TLS handler, so no alert is sent and the server only sees a peer leaving during
/// its handshake, and reads until the server closes too (closing with the server's bytes
/// unread would reset the connection, which a server logs as a lost connection). A hung
/// process, whose port the kernel still accepts on, answers nothing.
enum TLSProbe {
    /// One context for every probe. Verification is never reached, so no trust roots: the
    /// system's CA bundle, which slim images lack, is not needed.
    static let context: NIOSSLContext? = {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.trustRoots = .certificates([])
        return try? NIOSSLContext(configuration: configuration)
    }()

    /// The handlers a probe's channel gets: the watcher under the TLS client.
    static func handlers(answered: EventLoopPromise<Void>) throws -> [any ChannelHandler] {
        guard let context else { throw NIOSSLError.failedToLoadCertificate }
        return [FirstAnswer(answered: answered), try NIOSSLClientHandler(context: context, serverHostname: nil)]
    }

    /// Succeeds `answered` at the first bytes from the server, or when the server closes or
    /// resets the connection (input closed, with remote half-closure allowed; not a close of
    /// this side's own, such as NIO dropping a connection attempt that lost a race).
    final class FirstAnswer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let answered: EventLoopPromise<Void>
        private var closedOutput = false

        init(answered: EventLoopPromise<Void>) { self.answered = answered }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // (Not passed on: the TLS handler never sees the server's bytes.)
            guard !closedOutput else { return }
            closedOutput = true
            context.close(mode: .output, promise: nil)
            answered.succeed()
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            guard case ChannelEvent.inputClosed = event else { return context.fireUserInboundEventTriggered(event) }
            context.close(promise: nil)
            answered.succeed()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A reset from the server is an answer too; any other error ends the probe.
            if let error = error as? IOError, error.errnoCode == ECONNRESET { answered.succeed() }
            context.close(promise: nil)
        }
    }
}
