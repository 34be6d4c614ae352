import FloeCore
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import SwiftASN1
import X509

/// Verifies the certificate chain a TLS peer presents, in place of BoringSSL's verification.
///
/// swift-nio-ssl shows Floe the chain it verified only through a callback that replaces
/// BoringSSL's verification, and Floe needs that chain twice: `IceSSL.VerifyDepthMax` limits
/// its length, and `TLSPeerInfo.chain` gives it to servants. So swift-certificates builds the
/// path to a trusted root and checks it as RFC 5280 says (signatures, validity dates, CA
/// constraints, name constraints), and this adds what BoringSSL also checked: the leaf's
/// extended key usage, when it has one, allows this role. Host names are still checked by
/// `NIOSSLHandler` once the handshake is done (`IceSSL.CheckCertName`).
struct TLSChainVerifier: Sendable {
    /// The CAs peers are verified against.
    let roots: CertificateStore
    /// The longest chain accepted, peer and root included (`IceSSL.VerifyDepthMax`); 0: no limit.
    let maxDepth: Int
    /// The usage the peer's certificate must allow: `serverAuth` when verifying servers.
    let usage: ExtendedKeyUsage.Usage
    /// The most certificates a peer may present. swift-certificates tries every path through
    /// them, with no limit of its own: a hostile peer sending many certificates that sign each
    /// other (one key, one name) would make that search factorial. Real chains are a leaf, one
    /// or two intermediates and perhaps the root.
    static let maxPresented = 6

    init(configuration: TLSConfiguration, maxDepth: Int, verifyingServers: Bool) throws {
        var roots: [Certificate] = []
        var useSystemRoots = false
        switch configuration.trustRoots ?? .default {
        case .default: useSystemRoots = true
        case .file(let path): roots += try Self.load(path)
        case .certificates(let certificates): roots += try certificates.map(Self.certificate)
        }
        for additional in configuration.additionalTrustRoots {
            switch additional {
            case .file(let path): roots += try Self.load(path)
            case .certificates(let certificates): roots += try certificates.map(Self.certificate)
            }
        }
        var store = useSystemRoots ? CertificateStore.systemTrustRoots : CertificateStore()
        store.append(contentsOf: roots)
        self.roots = store
        self.maxDepth = maxDepth
        self.usage = verifyingServers ? .serverAuth : .clientAuth
    }

    /// The callback `NIOSSLHandler` calls with the certificates the peer presented (its own
    /// first). A refusal's reason goes to `failure`, so the error closing the connection can
    /// say why: BoringSSL only reports that verification failed.
    func callback(failure: TLSVerificationFailure) -> NIOSSLCustomVerificationCallbackWithMetadata {
        { presented, promise in
            let verifier = self
            Task {
                switch await verifier.verify(presented) {
                case .success(let chain):
                    promise.succeed(.certificateVerified(VerificationMetadata(NIOSSL.ValidatedCertificateChain(chain))))
                case .failure(let reason):
                    failure.reason = reason.description
                    promise.succeed(.failed)
                }
            }
        }
    }

    /// The verified chain, peer first and trusted root last, or why there is none.
    func verify(_ presented: [NIOSSLCertificate]) async -> Result<[NIOSSLCertificate], RefusedChain> {
        guard let first = presented.first else { return .failure(RefusedChain("the peer sent no certificate")) }
        guard presented.count <= Self.maxPresented else {
            return .failure(
                RefusedChain(
                    "the peer sent \(presented.count) certificates; Floe accepts chains of at most \(Self.maxPresented)"
                ))
        }
        let leaf: Certificate
        let intermediates: [Certificate]
        do {
            leaf = try Self.certificate(first)
            intermediates = try presented.dropFirst().map(Self.certificate)
        } catch {
            return .failure(RefusedChain("the peer's certificate cannot be parsed: \(error)"))
        }
        let maxDepth = maxDepth
        let usage = usage
        var verifier = Verifier(rootCertificates: roots) {
            ValidityDatesPolicy()  // RFC5280Policy checks them too, but its reason prints whole certificates
            RFC5280Policy()
            ExtendedKeyUsagePolicy(required: usage)
            ChainLengthPolicy(maximum: maxDepth)
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) {
        case .validCertificate(let chain):
            do {
                return .success(
                    try chain.map { certificate in
                        var serializer = DER.Serializer()
                        try serializer.serialize(certificate)
                        return try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
                    })
            } catch {
                return .failure(RefusedChain("the verified chain cannot be encoded: \(error)"))
            }
        case .couldNotValidate(let failures):
            // Each failure is one candidate path; a policy's reason says more than "no path".
            let reasons = failures.map { String(describing: $0.policyFailureReason) }
            let subject = TLSPeerCheck.subject(leaf.subject)
            return .failure(
                RefusedChain(
                    reasons.isEmpty
                        ? "the certificate of '\(subject)' does not chain to a trusted CA"
                        : "the certificate of '\(subject)' was refused: \(Set(reasons).sorted().joined(separator: "; "))"
                ))
        }
    }

    private static func certificate(_ certificate: NIOSSLCertificate) throws -> Certificate {
        try Certificate(derEncoded: certificate.toDERBytes())
    }

    /// The certificates of a PEM file, or of the PEM files in a folder.
    private static func load(_ path: String) throws -> [Certificate] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw LocalError(.invalidArgument, "IceSSL: no CA file or folder at '\(path)'")
        }
        let files =
            isFolder.boolValue
            ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { path + "/" + $0 } : [path]
        return try files.flatMap { file in
            // A folder may hold other files (hash links to the same certificates, keys, notes).
            do {
                return try NIOSSLCertificate.fromPEMFile(file).map(certificate)
            } catch  where isFolder.boolValue {
                return []
            }
        }
    }
}

/// Why a peer's chain was refused.
struct RefusedChain: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Where the verification callback leaves its reason for the connection's peer check.
final class TLSVerificationFailure: Sendable {
    private let box = NIOLockedValueBox<String?>(nil)
    var reason: String? {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }
}

/// `IceSSL.VerifyDepthMax`: the chain, peer and root included, may not be longer.
private struct ChainLengthPolicy: VerifierPolicy {
    let maximum: Int
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        guard maximum > 0, chain.count > maximum else { return .meetsPolicy }
        let (length, maximum) = (chain.count, maximum)
        return .failsToMeetPolicy(
            reason: "its chain has \(length) certificates, more than IceSSL.VerifyDepthMax=\(maximum) allows")
    }
}

/// Every certificate of the chain is valid now.
private struct ValidityDatesPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        let now = Date()
        // Not a range: a hostile certificate may end before it starts.
        for certificate in chain where now < certificate.notValidBefore || now > certificate.notValidAfter {
            let subject = TLSPeerCheck.subject(certificate.subject)
            let (from, to) = (certificate.notValidBefore, certificate.notValidAfter)
            return .failsToMeetPolicy(reason: "'\(subject)' is valid from \(from) to \(to) only")
        }
        return .meetsPolicy
    }
}

/// A leaf that lists extended key usages must list this side's role (or any usage).
private struct ExtendedKeyUsagePolicy: VerifierPolicy {
    let required: ExtendedKeyUsage.Usage
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        let usages: ExtendedKeyUsage?
        do {
            usages = try chain.leaf.extensions.extendedKeyUsage
        } catch {
            return .failsToMeetPolicy(reason: "its extended key usage cannot be parsed")
        }
        guard let usages, !usages.contains(required), !usages.contains(.any) else { return .meetsPolicy }
        let required = required
        return .failsToMeetPolicy(reason: "its extended key usage does not allow \(required)")
    }
}
