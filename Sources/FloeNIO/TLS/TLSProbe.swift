import NIOCore
import NIOSSL

/// Whether a server process answers at a TLS endpoint, told without completing a handshake it
/// might refuse (a registry without a client certificate, probing servers that require one):
/// a ClientHello goes out, and the first bytes back, or the server closing, show a live process;
/// the probe then closes the TCP connection under the TLS handler, so no alert is sent and the
/// server only sees a peer leaving during its handshake. A hung process, whose port the kernel
/// still accepts on, answers nothing.
enum TLSProbe {
    /// One context for every probe: verification is never reached.
    static let context: NIOSSLContext? = {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return try? NIOSSLContext(configuration: configuration)
    }()

    /// The handlers a probe's channel gets: the watcher under the TLS client.
    static func handlers(answered: EventLoopPromise<Void>) throws -> [any ChannelHandler] {
        guard let context else { throw NIOSSLError.failedToLoadCertificate }
        return [FirstAnswer(answered: answered), try NIOSSLClientHandler(context: context, serverHostname: nil)]
    }

    /// Succeeds `answered` at the first bytes from the server, or when it closes, and closes
    /// the connection at once.
    final class FirstAnswer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let answered: EventLoopPromise<Void>

        init(answered: EventLoopPromise<Void>) { self.answered = answered }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            answered.succeed()
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            answered.succeed()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
