import FloeCore
import NIOCore
import NIOSSL
import NIOTLS
import SwiftASN1
import X509

/// Sits between the TLS handler and the Ice handler of an ssl connection. When the handshake
/// completes it reads the peer's certificate, refuses subjects the `SubjectFilter` does not
/// accept (IceSSL's TrustOnly), and hands what it learned to the Ice handler — before any
/// message of the peer is read, so a refused peer has nothing dispatched.
final class TLSPeerCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let filter: SubjectFilter
    /// Whether the peer's certificate was verified when it sent one (see `TLSPeerInfo.verified`).
    private let verifies: Bool
    private let filterName: String

    init(filter: SubjectFilter, verifies: Bool, filterName: String) {
        self.filter = filter
        self.verifies = verifies
        self.filterName = filterName
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case TLSUserEvent.handshakeCompleted = event else { return context.fireUserInboundEventTriggered(event) }
        let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self)
        let certificate = handler?.peerCertificate
        let der = try? certificate?.toDERBytes()
        let subject = der.flatMap { try? Certificate(derEncoded: $0) }.map { Self.subject($0.subject) }
        let version: String =
            switch handler?.tlsVersion {
            case .tlsv13: "TLSv1.3"
            case .tlsv12: "TLSv1.2"
            default: "TLS"
            }
        guard filter.accepts(subject) else {
            context.fireErrorCaught(
                TLSPeerRefused(reason: "the peer's certificate subject '\(subject ?? "none")' is not on \(filterName)"))
            return
        }
        context.fireUserInboundEventTriggered(
            TLSPeerVerified(
                info: TLSPeerInfo(
                    subject: subject, certificate: der, verified: verifies && der != nil, protocolVersion: version)))
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
