import NIOSSL

/// A failed TLS handshake (or key loading) told in words: BoringSSL reports an error code, the
/// reason's name and the source file it came from ("error:10000416:SSL routines:
/// OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_UNKNOWN at …/tls_record.cc:491"), which says little
/// to an operator reading a server's log. Reasons it does not know keep their name, in lower case.
enum TLSFailure {
    /// Why `error` ended a handshake (or key loading), or nil when it only says that the peer
    /// left (a TCP health check, a client giving up): a lost connection, not a refusal, which
    /// each caller words for where it happened.
    static func describe(_ error: BoringSSLError) -> String? {
        let internals: [BoringSSLInternalError]
        switch error {
        case .sslError(let list), .unknownError(let list): internals = list
        case .zeroReturn, .syscallError: return nil
        default: return "\(error)"
        }
        if internals.allSatisfy({ $0 == .eofDuringHandshake }) { return nil }
        let names = internals.filter { $0 != .eofDuringHandshake }.map { reasonName(of: "\($0)") }
        // Known reasons say it all; the others (BoringSSL's intermediate steps) only when alone.
        let known = names.compactMap { explanations[$0] }
        let shown = known.isEmpty ? names.map { String($0.lowercased().map { $0 == "_" ? " " : $0 }) } : known
        var seen = Set<String>()
        return shown.filter { seen.insert($0).inserted }.joined(separator: "; ")
    }

    /// The reason's name in BoringSSL's "Error: N error:CODE:LIBRARY:OPENSSL_internal:REASON at
    /// FILE:LINE" (a library's name may have spaces, "SSL routines", and so may a reason).
    static func reasonName(of description: String) -> String {
        var text = Substring(description)
        if let library = text.firstRange(of: "OPENSSL_internal:") { text = text[library.upperBound...] }
        if let file = text.ranges(of: " at ").last { text = text[..<file.lowerBound] }
        return String(text)
    }

    private static let explanations: [String: String] = [
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN":
            "the peer refused this side's certificate (alert: certificate unknown; does it trust the CA?)",
        "TLSV1_ALERT_UNKNOWN_CA": "the peer does not trust the CA of this side's certificate (alert: unknown CA)",
        "SSLV3_ALERT_BAD_CERTIFICATE": "the peer refused this side's certificate (alert: bad certificate)",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED": "the peer refused this side's certificate as expired",
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE":
            "the peer refused this side's certificate (alert: unsupported certificate)",
        "TLSV1_ALERT_ACCESS_DENIED": "the peer denied access (alert: access denied)",
        "TLSV13_ALERT_CERTIFICATE_REQUIRED":
            "the peer requires a certificate, and this side sent none (IceSSL.CertFile)",
        "TLSV1_ALERT_CERTIFICATE_REQUIRED":
            "the peer requires a certificate, and this side sent none (IceSSL.CertFile)",
        "PEER_DID_NOT_RETURN_A_CERTIFICATE": "the peer sent no certificate, and IceSSL.VerifyPeer=2 requires one",
        "CERTIFICATE_VERIFY_FAILED": "the peer's certificate failed verification",
        "WRONG_VERSION_NUMBER":
            "the peer does not speak TLS (a tcp endpoint behind an ssl proxy, or a client that is not TLS?)",
        "HTTP_REQUEST": "the peer sent an HTTP request, not TLS",
        "NO_SHARED_CIPHER": "no cipher both sides accept (IceSSL.Ciphers)",
        "UNSUPPORTED_PROTOCOL": "no TLS version both sides accept (IceSSL.Protocols)",
        "TLSV1_ALERT_PROTOCOL_VERSION": "the peer accepts none of this side's TLS versions (IceSSL.Protocols)",
        "INCORRECT_PASSWORD": "wrong password (IceSSL.Password)",
        "BAD_DECRYPT": "the key cannot be decrypted (a wrong IceSSL.Password, or a damaged key)",
        "NO_START_LINE": "not a PEM file",
        "SSLV3_ALERT_HANDSHAKE_FAILURE": "the peer refused the handshake (alert: handshake failure)",
    ]
}
