public import FloeCore
import Foundation
public import NIOSSL

/// TLS for `ssl` endpoints: what the server side presents and requires, what the client side
/// trusts, and whose certificates either accepts. Built from IceSSL's properties (the
/// `NIOTransport` does this at the first ssl endpoint it meets), or given to `NIOTransport`
/// directly by applications that keep their keys elsewhere.
public struct TLSSettings: Sendable {
    /// Incoming connections (ssl adapters); nil without a certificate of this side's own.
    public var server: TLSConfiguration?
    /// Outgoing connections.
    public var client: TLSConfiguration
    /// Subjects accepted from servers (`IceSSL.TrustOnly` and `IceSSL.TrustOnly.Client`).
    public var trustedServers: SubjectFilter
    /// Subjects accepted from clients (`IceSSL.TrustOnly` and `IceSSL.TrustOnly.Server`).
    public var trustedClients: SubjectFilter
    /// The longest certificate chain accepted from a peer, its own certificate and the root
    /// included (`IceSSL.VerifyDepthMax`); 0 for no limit.
    public var verifyDepthMax: Int

    /// Peers' chains are verified against `trustRoots` and `additionalTrustRoots` of each
    /// configuration (by swift-certificates, so that Floe knows the chain it verified), when
    /// its `certificateVerification` asks for it; host names with `.fullVerification`.
    public init(
        server: TLSConfiguration?, client: TLSConfiguration, trustedServers: SubjectFilter = SubjectFilter(),
        trustedClients: SubjectFilter = SubjectFilter(), verifyDepthMax: Int = 3
    ) {
        self.server = server
        self.client = client
        self.trustedServers = trustedServers
        self.trustedClients = trustedClients
        self.verifyDepthMax = verifyDepthMax
    }

    /// IceSSL's properties, with IceSSL's meanings (a property absent takes IceSSL 3.7's default):
    ///
    /// - `IceSSL.CertFile`: this side's certificate chain, PEM; a `.p12`/`.pfx` file is PKCS#12,
    ///   holding the key too. `IceSSL.KeyFile`: its private key, PEM, encrypted when
    ///   `IceSSL.Password` is set. Relative paths start at `IceSSL.DefaultDir`.
    /// - `IceSSL.CAs`: the CA certificates (a PEM file, or a folder of them) peers are verified
    ///   against. `IceSSL.UsePlatformCAs` (0): 1 adds the system's, used when `IceSSL.CAs` is
    ///   not set; without either, no peer's certificate verifies (`IceSSL.VerifyPeer=0` aside).
    /// - `IceSSL.VerifyPeer` (2): 0 checks nothing; 1 checks a certificate if a client sends one
    ///   (clients always check the server's); 2 requires a valid one.
    /// - `IceSSL.CheckCertName` (0): 1 makes clients check that the server certificate names the
    ///   proxy's host (DNS or IP subject alternative name).
    /// - `IceSSL.Protocols` (`tls1_2, tls1_3`), `IceSSL.Ciphers` (OpenSSL cipher list; TLS 1.2).
    /// - `IceSSL.TrustOnly`, `.Client`, `.Server`: subject allow and deny lists (`SubjectFilter`).
    /// - `IceSSL.VerifyDepthMax` (3): the longest chain accepted from a peer, counting its
    ///   certificate and the root; 0 for no limit.
    public init(properties: Properties) throws {
        let directory = properties["IceSSL.DefaultDir"] ?? ""
        func path(_ name: String) -> String? {
            guard let value = properties[name], !value.isEmpty else { return nil }
            return value.hasPrefix("/") || directory.isEmpty ? value : directory + "/" + value
        }
        let password = properties["IceSSL.Password"]
        var chain: [NIOSSLCertificateSource] = []
        var key: NIOSSLPrivateKeySource?
        do {
            if let certFile = path("IceSSL.CertFile") {
                if certFile.hasSuffix(".p12") || certFile.hasSuffix(".pfx") {
                    let bundle = try NIOSSLPKCS12Bundle(file: certFile, passphrase: password.map { Array($0.utf8) })
                    chain = bundle.certificateChain.map { .certificate($0) }
                    key = .privateKey(bundle.privateKey)
                } else {
                    chain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
                }
            }
            if let keyFile = path("IceSSL.KeyFile") {
                if let password {
                    key = .privateKey(
                        try NIOSSLPrivateKey(file: keyFile, format: .pem) { provide in provide(Array(password.utf8)) })
                } else {
                    key = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
                }
            }
        } catch {
            let reason: String
            if case .failedToLoadPrivateKey? = error as? NIOSSLError {
                reason = "the private key cannot be read: a wrong IceSSL.Password, or not a PEM key"
            } else {
                reason = (error as? BoringSSLError).flatMap(TLSFailure.describe) ?? "\(error)"
            }
            throw LocalError(.invalidArgument, "IceSSL: cannot load the certificate or key: \(reason)")
        }
        guard chain.isEmpty == (key == nil) else {
            throw LocalError(.invalidArgument, "IceSSL: IceSSL.CertFile and IceSSL.KeyFile go together")
        }
        // As IceSSL: the CAs listed, and the platform's only when asked for. Trusting every
        // public CA by default would let a server requiring client certificates accept any
        // certificate a public CA issued.
        let roots: NIOSSLTrustRoots
        if let cas = path("IceSSL.CAs") {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: cas, isDirectory: &isFolder), isFolder.boolValue {
                roots = .file(cas)  // a folder of PEM files (OpenSSL's c_rehash layout included)
            } else {
                do {
                    roots = .certificates(try NIOSSLCertificate.fromPEMFile(cas))
                } catch {
                    throw LocalError(.invalidArgument, "IceSSL.CAs: cannot load '\(cas)': \(error)")
                }
            }
        } else if try properties.int("IceSSL.UsePlatformCAs", default: 0) > 0 {
            roots = .default
        } else {
            roots = .certificates([])
        }
        let verifyPeer = try properties.int("IceSSL.VerifyPeer", default: 2)
        guard (0...2).contains(verifyPeer) else {
            throw LocalError(.invalidArgument, "IceSSL.VerifyPeer must be 0, 1 or 2, not \(verifyPeer)")
        }
        let checkCertName = try properties.int("IceSSL.CheckCertName", default: 0) > 0
        let verifyDepthMax = try properties.int("IceSSL.VerifyDepthMax", default: 3)
        guard verifyDepthMax >= 0 else {
            throw LocalError(
                .invalidArgument, "IceSSL.VerifyDepthMax must be 0 (no limit) or more, not \(verifyDepthMax)")
        }
        let (minimum, maximum) = try Self.versions(properties["IceSSL.Protocols"])

        let ciphers = properties["IceSSL.Ciphers"] ?? ""
        func common(_ configuration: inout TLSConfiguration) {
            configuration.trustRoots = roots
            configuration.minimumTLSVersion = minimum
            configuration.maximumTLSVersion = maximum
            if !ciphers.isEmpty { configuration.cipherSuites = ciphers }
        }
        var server: TLSConfiguration?
        if let key {
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
            configuration.certificateVerification =
                switch verifyPeer {
                case 0: .none
                case 1: .optionalVerification
                default: .noHostnameVerification
                }
            common(&configuration)
            server = configuration
        }
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain
        client.privateKey = key
        client.certificateVerification =
            verifyPeer == 0 ? .none : checkCertName ? .fullVerification : .noHostnameVerification
        common(&client)
        let trustOnly = properties["IceSSL.TrustOnly"] ?? ""
        self.init(
            server: server, client: client,
            trustedServers: try SubjectFilter(trustOnly, properties["IceSSL.TrustOnly.Client"] ?? ""),
            trustedClients: try SubjectFilter(trustOnly, properties["IceSSL.TrustOnly.Server"] ?? ""),
            verifyDepthMax: verifyDepthMax)
    }

    /// `IceSSL.Protocols`: a list of `tls1_2` and `tls1_3` (IceSSL's spellings, any case; also
    /// `TLS1.2`, `TLSv1_3`…). Older protocols are refused.
    static func versions(_ list: String?) throws -> (TLSVersion, TLSVersion?) {
        guard let list, !list.isEmpty else { return (.tlsv12, nil) }
        var chosen: [TLSVersion] = []
        for word in list.split(whereSeparator: { $0 == "," || $0 == " " }) where !word.isEmpty {
            let name = String(word.uppercased().filter { $0 != "V" }.map { $0 == "." ? "_" : $0 })
            switch name {
            case "TLS1_2": chosen.append(.tlsv12)
            case "TLS1_3": chosen.append(.tlsv13)
            default:
                throw LocalError(
                    .invalidArgument, "IceSSL.Protocols: '\(word)' is not supported (tls1_2 and tls1_3 are)")
            }
        }
        let hasTwelve = chosen.contains(.tlsv12)
        let hasThirteen = chosen.contains(.tlsv13)
        return (hasTwelve ? .tlsv12 : .tlsv13, hasThirteen ? nil : .tlsv12)
    }
}
