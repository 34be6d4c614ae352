import FloeCore
import NIOCore
import NIOSSL
import NIOTLS
import SwiftASN1
import X509

/// Sits between the TLS handler and the Ice handler of an ssl connection until the handshake is
/// over. It closes a connection whose handshake does not finish within `handshakeTimeout` (a
/// peer that connects and stays silent holds no connection for long). When the handshake
/// completes it reads the peer's certificate, refuses subjects the `SubjectFilter` does not
/// accept (IceSSL's TrustOnly) — dropping whatever the peer sent with its last handshake
/// message, so a refused peer has nothing dispatched — or hands what it learned to the Ice
/// handler and leaves the pipeline, so that messages pass no extra handler.
final class TLSPeerCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let filter: SubjectFilter
    /// Whether the peer's certificate was verified when it sent one (see `TLSPeerInfo.verified`).
    private let verifies: Bool
    private let filterName: String
    private let handshakeTimeout: TimeAmount
    private let verificationFailure: TLSVerificationFailure
    private var timer: Scheduled<Void>?
    private var refused = false

    init(
        filter: SubjectFilter, verifies: Bool, filterName: String, handshakeTimeout: TimeAmount,
        verificationFailure: TLSVerificationFailure
    ) {
        self.filter = filter
        self.verifies = verifies
        self.filterName = filterName
        self.handshakeTimeout = handshakeTimeout
        self.verificationFailure = verificationFailure
    }

    /// A handshake that failed because this side refused the peer's chain says why.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let reason = verificationFailure.reason {
            verificationFailure.reason = nil
            return context.fireErrorCaught(TLSPeerRefused(reason: reason))
        }
        context.fireErrorCaught(error)
    }

    func channelActive(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let limit = handshakeTimeout
        timer = context.eventLoop.scheduleTask(in: limit) {
            bound.value.fireErrorCaught(
                TLSPeerRefused(reason: "the TLS handshake did not finish within \(limit.nanoseconds / 1_000_000) ms"))
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case TLSUserEvent.handshakeCompleted = event else { return context.fireUserInboundEventTriggered(event) }
        timer?.cancel()
        timer = nil
        let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self)
        let certificate = handler?.peerCertificate
        let der = try? certificate?.toDERBytes()
        let chain = handler?.peerValidatedCertificateChain.map { $0.compactMap { try? $0.toDERBytes() } }
        let subject = der.flatMap { try? Certificate(derEncoded: $0) }.map { Self.subject($0.subject) }
        let version: String =
            switch handler?.tlsVersion {
            case .tlsv13: "TLSv1.3"
            case .tlsv12: "TLSv1.2"
            default: "TLS"
            }
        guard filter.accepts(subject) else {
            refused = true
            context.fireErrorCaught(
                TLSPeerRefused(reason: "the peer's certificate subject '\(subject ?? "none")' is not on \(filterName)"))
            return
        }
        context.fireUserInboundEventTriggered(
            TLSPeerVerified(
                info: TLSPeerInfo(
                    subject: subject, certificate: der, chain: chain ?? der.map { [$0] } ?? [],
                    verified: verifies && chain != nil, protocolVersion: version)))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// IceSSL's form: the attributes in certificate order, `, `-separated (`C=US, O=Example, CN=client`).
    static func subject(_ name: DistinguishedName) -> String {
        name.map { String(describing: $0) }.joined(separator: ", ")
    }
}

/// What `TLSPeerCheck` tells the Ice handler once the handshake is done.
struct TLSPeerVerified {
    let info: TLSPeerInfo
}

/// A peer refused after its handshake (its subject is not trusted).
struct TLSPeerRefused: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
