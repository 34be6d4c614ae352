import FloeCore
import Logging
import NIOCore
import NIOSSL

/// Why a connection closes on an error, told the same way wherever it is caught: before the Ice
/// handler is there (a TLS or WebSocket opening) or in it.
struct ClosingReason {
    var reason: String
    var code: LocalError.Code
    var logLevel: Logger.Level = .warning

    init(_ reason: String, code: LocalError.Code, logLevel: Logger.Level = .warning) {
        self.reason = reason
        self.code = code
        self.logLevel = logLevel
    }

    /// A socket error (a reset, a broken pipe) loses the connection, and so does a TLS peer
    /// closing without close_notify (ZeroC peers do) or during the handshake (a TCP health
    /// check); TLS failures are security errors, their reasons in words (`TLSFailure`);
    /// anything else is a peer breaking the protocol.
    init(_ error: any Error) {
        if let tlsError = error as? NIOSSLError, tlsError == .uncleanShutdown {
            self.init("the peer closed the TLS connection", code: .connectionLost, logLevel: .debug)
        } else if let failure = Self.handshakeFailure(error) ?? (error as? BoringSSLError) {
            if let reason = TLSFailure.describe(failure) {
                self.init("TLS: \(reason)", code: .security)
            } else {
                // (A peer leaving during the handshake, as TCP health checks do, is only debug
                // output whatever Ice.Warn.Connections says: a ZeroC IceSSL server logs nothing.)
                let during = error is NIOSSLError ? " during the TLS handshake" : ""
                self.init("the peer closed the connection\(during)", code: .connectionLost, logLevel: .debug)
            }
        } else if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
            || error is TLSPeerRefused
        {
            self.init("TLS: \(error)", code: .security)
        } else {
            self.init("\(error)", code: error is IOError || error is ChannelError ? .connectionLost : .protocolError)
        }
    }

    private static func handshakeFailure(_ error: any Error) -> BoringSSLError? {
        guard case .handshakeFailed(let failure)? = error as? NIOSSLError else { return nil }
        return failure
    }

    var error: LocalError { LocalError(code, reason) }

    /// Logs "closing connection: …" (`what` says otherwise where nothing closes). A lost or
    /// timed-out connection is ordinary (Ice.Warn.Connections makes it a warning); a peer
    /// breaking the protocol or refused by TLS is always worth one, within the communicator's
    /// rate of peer warnings.
    func log(
        _ logger: Logger, _ communicator: Communicator, warnConnections: Int, what: String = "closing connection"
    ) {
        let ordinary = code == .connectionLost || code == .connectionTimeout
        let level = ordinary && warnConnections == 0 ? min(logLevel, .debug) : logLevel
        if level < .warning {
            logger.log(level: level, "\(what): \(reason)")
        } else if let suppressed = communicator.peerWarnings.admit() {
            let message = WarningLimiter.message("\(what): \(reason)", afterSuppressing: suppressed)
            logger.log(level: level, "\(message)")
        }
    }
}
