import FloeCore
import FloeEncoding
import FloeNIO
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import TestSupport
import Testing

/// What an ssl server's servants saw: one entry per dispatch, the caller's certificate subject.
private final class Dispatches: Sendable {
    private let subjects = NIOLockedValueBox<[String]>([])
    var all: [String] { subjects.withLockedValue { $0 } }
    func add(_ subject: String) { subjects.withLockedValue { $0.append(subject) } }
}

private struct RecordSubject: Dispatcher {
    let next: any Dispatcher
    let dispatches: Dispatches

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        dispatches.add(request.current.con?.info.tls?.subject ?? "none")
        return try await next.dispatch(request)
    }
}

/// Notes when the connection of a dispatch closes.
private struct NoticeClose: Dispatcher {
    let next: any Dispatcher
    let closed: NIOLockedValueBox<Bool>

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        let closed = closed
        request.current.con?.onClose { closed.withLockedValue { $0 = true } }
        return try await next.dispatch(request)
    }
}

private struct Server {
    let communicator: Communicator
    let transport: NIOTransport
    let adapter: ObjectAdapter
    let port: Int
    let dispatches: Dispatches
}

private func properties(_ settings: [String: String]) -> Properties {
    var properties = Properties()
    for (key, value) in settings { properties[key] = value }
    properties["Ice.RetryIntervals"] = "-1"
    return properties
}

/// A Floe tester server on an ssl endpoint (and a tcp one when asked).
extension TLSTests {
    fileprivate static func makeServer(_ settings: [String: String]) async throws { _ = try await server(settings) }
}

private func server(
    _ settings: [String: String], endpoints: String = "ssl -h 127.0.0.1 -p 0",
    middleware: (@Sendable (any Dispatcher) -> any Dispatcher)? = nil, logger: Logger = Logger(label: "floe")
) async throws -> Server {
    let transport = NIOTransport(logger: logger)
    let communicator = try Communicator(
        properties: properties(settings), sliceLoader: Vectors_SliceLoader(), transport: transport, logger: logger)
    let adapter = try await communicator.createObjectAdapterWithEndpoints(name: "S", endpoints: endpoints)
    try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
    let dispatches = Dispatches()
    try adapter.use { RecordSubject(next: $0, dispatches: dispatches) }
    if let middleware { try adapter.use(middleware) }
    try await adapter.activate()
    let port = Int(adapter.publishedEndpoints.first?.port ?? 0)
    return Server(
        communicator: communicator, transport: transport, adapter: adapter, port: port, dispatches: dispatches)
}

private func client(_ settings: [String: String]) throws -> Communicator {
    try Communicator(properties: properties(settings), sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
}

private func tester(_ communicator: Communicator, _ proxy: String) throws -> any TesterPrx {
    try makeProxy(communicator: communicator, proxyString: proxy, type: (any TesterPrx).self)
}

private let data = Data((0..<3_000).map { UInt8(($0 * 7) % 256) })

/// The call's error code, failing the test if it succeeded.
private func failure(of call: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async
    -> LocalError?
{
    do {
        try await call()
        Issue.record("the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as LocalError {
        return error
    } catch {
        Issue.record("not a LocalError: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// ssl endpoints (issue 17): mutual TLS between Floe peers and with ZeroC's IceSSL, and every
/// way a handshake must fail — each with a clear error and nothing dispatched.
@Suite("TLS", .serialized, .timeLimit(.minutes(3)))
struct TLSTests {
    @Test func mutualTLSBetweenFloePeers() async throws {
        let certs = try await testCertificates()
        let server = try await server(tlsProperties(certs, "server"))
        let client = try client(tlsProperties(certs, "client", ["IceSSL.CheckCertName": "1"]))
        let tester = try tester(client, "tester:ssl -h 127.0.0.1 -p \(server.port)")
        #expect(try await tester.opByteSeq(data) == data)
        #expect(server.dispatches.all == ["C=US, O=Floe Tests, CN=client"])
        let info = try await tester.ice_getConnection().info
        #expect(info.type == "ssl" && info.isSecure)
        #expect(info.tls?.subject == "C=US, O=Floe Tests, CN=server")
        #expect(info.tls?.verified == true)
        #expect(info.tls?.protocolVersion == "TLSv1.3")
        // The verified chain: the server's certificate, then the root it chains to.
        #expect(info.tls?.chain.count == 2)
        #expect(info.tls?.chain.first == info.tls?.certificate)
        #expect(try info.tls?.chain.last == pemDER(certs, "ca.pem"))
        #expect(try await tester.ice_secure(true).opByteSeq(data) == data)
        await client.destroy()
        await server.communicator.destroy()
    }

    /// A graceful close over ssl ends at both ends at once: the close_notify exchange completes.
    /// With half-closure on (Floe's channels allow it), swift-nio-ssl used to wait its 5 s
    /// shutdown timeout instead, keeping both ends of every closed ssl connection open as long: a
    /// server churning through short-lived TLS clients held five seconds' worth of them.
    @Test func aClosedSSLConnectionClosesAtOnceAtBothEnds() async throws {
        let certs = try await testCertificates()
        let serverClosed = NIOLockedValueBox(false)
        let server = try await server(tlsProperties(certs, "server")) { next in
            NoticeClose(next: next, closed: serverClosed)
        }
        let client = try client(tlsProperties(certs, "client"))
        let tester = try tester(client, "tester:ssl -h 127.0.0.1 -p \(server.port)")
        try await tester.ice_ping()
        let connection = try await tester.ice_getConnection()
        let clientClosed = NIOLockedValueBox(false)
        connection.onClose { clientClosed.withLockedValue { $0 = true } }
        await connection.close()
        #expect(await eventually(within: .seconds(2)) { clientClosed.withLockedValue { $0 } }, "the client's end")
        #expect(await eventually(within: .seconds(2)) { serverClosed.withLockedValue { $0 } }, "the server's end")
        await client.destroy()
        await server.communicator.destroy()
    }

    /// Whom a side trusts, as IceSSL defines it: the CAs of `IceSSL.CAs` (a PEM file, or a folder
    /// of them, as OpenSSL's IceSSL reads), the platform's only with `IceSSL.UsePlatformCAs=1`,
    /// and none without either. (Trusting the platform's by default would let a server that
    /// requires client certificates accept any certificate a public CA issued.)
    @Test func trustAsIceSSLDefinesIt() async throws {
        #expect(try TLSSettings(properties: Properties()).client.trustRoots == .certificates([]))
        var platform = Properties()
        platform["IceSSL.UsePlatformCAs"] = "1"
        #expect(try TLSSettings(properties: platform).client.trustRoots == .default)
        let certs = try await testCertificates()
        let server = try await server(tlsProperties(certs, "server", ["IceSSL.CAs": certs]))
        let client = try client(tlsProperties(certs, "client", ["IceSSL.CAs": certs]))
        #expect(try await tester(client, "tester:ssl -h 127.0.0.1 -p \(server.port)").opByteSeq(data) == data)
        #expect(server.dispatches.all == ["C=US, O=Floe Tests, CN=client"])
        await client.destroy()
        await server.communicator.destroy()
    }

    /// An encrypted PEM key (IceSSL.Password), and a PKCS#12 file holding certificate and key.
    @Test func encryptedKeysAndPKCS12() async throws {
        let certs = try await testCertificates()
        let server = try await server([
            "IceSSL.DefaultDir": certs, "IceSSL.CAs": "ca.pem", "IceSSL.CertFile": "server.p12",
            "IceSSL.Password": "secret",
        ])
        let encrypted = try client(
            tlsProperties(certs, "client", ["IceSSL.KeyFile": "client-encrypted.key", "IceSSL.Password": "secret"]))
        #expect(try await tester(encrypted, "tester:ssl -h 127.0.0.1 -p \(server.port)").opByteSeq(data) == data)
        #expect(server.dispatches.all == ["C=US, O=Floe Tests, CN=client"])
        // The key is read at the first ssl connection: a wrong password fails it clearly.
        let wrongPassword = try client(
            tlsProperties(certs, "client", ["IceSSL.KeyFile": "client-encrypted.key", "IceSSL.Password": "wrong"]))
        let error = await failure {
            try await tester(wrongPassword, "tester:ssl -h 127.0.0.1 -p \(server.port)").ice_ping()
        }
        #expect(error?.code == .invalidArgument, "\(String(describing: error))")
        #expect(
            error?.message.contains("a wrong IceSSL.Password, or not a PEM key") == true, "\(String(describing: error))"
        )
        // So does a PKCS#12 file's.
        let wrongBundle = await failure {
            _ = try await TLSTests.makeServer([
                "IceSSL.DefaultDir": certs, "IceSSL.CAs": "ca.pem", "IceSSL.CertFile": "server.p12",
                "IceSSL.Password": "wrong",
            ])
        }
        #expect(wrongBundle?.code == .invalidArgument)
        #expect(
            wrongBundle?.message.contains("wrong password (IceSSL.Password)") == true
                && wrongBundle?.message.contains("OPENSSL_internal") == false, "\(String(describing: wrongBundle))")
        for communicator in [encrypted, wrongPassword, server.communicator] { await communicator.destroy() }
    }

    /// A handshake that must fail: the client sees `security` (or the server closing on it),
    /// the server dispatches nothing and goes on serving a good client.
    @Test(arguments: [
        ("no client certificate, VerifyPeer=2", "server", nil as String?, [String: String](), [String: String]()),
        ("expired server certificate", "expired", "client", [:], [:]),
        ("wrong host name, CheckCertName=1", "wronghost", "client", [:], ["IceSSL.CheckCertName": "1"]),
        ("server certificate from an untrusted CA", "intruder", "client", [:], [:]),
        ("server chain longer than IceSSL.VerifyDepthMax", "chained", "client", [:], ["IceSSL.VerifyDepthMax": "2"]),
        ("client chain longer than IceSSL.VerifyDepthMax", "server", "chained", ["IceSSL.VerifyDepthMax": "2"], [:]),
        ("client certificate for servers only (extended key usage)", "server", "server-only", [:], [:]),
        ("client certificate from an untrusted CA", "server", "intruder", [:], [:]),
        (
            "client subject not on IceSSL.TrustOnly.Server", "server", "client",
            ["IceSSL.TrustOnly.Server": "CN=someone"], [:]
        ),
        (
            "server subject not on IceSSL.TrustOnly.Client", "server", "client", [:],
            ["IceSSL.TrustOnly.Client": "!CN=server"]
        ),
    ])
    func refusedHandshakes(
        _ name: String, serverCert: String, clientCert: String?, serverMore: [String: String],
        clientMore: [String: String]
    ) async throws {
        let certs = try await testCertificates()
        let server = try await server(tlsProperties(certs, serverCert, serverMore))
        let refused = try client(tlsProperties(certs, clientCert, clientMore))
        let error = await failure {
            try await tester(refused, "tester:ssl -h 127.0.0.1 -p \(server.port)").ice_ping()
        }
        #expect(
            error?.code == .security || error?.code == .connectionLost, "\(name): \(String(describing: error))")
        #expect(server.dispatches.all.isEmpty, "\(name)")
        await refused.destroy()
        await server.communicator.destroy()
    }

    /// A refused handshake is logged by the server in words, not as BoringSSL's codes and
    /// source paths; a peer that connects and leaves without a word (a TCP health check) is
    /// a lost connection, debug output even under Ice.Warn.Connections (as on ZeroC servers).
    @Test func refusedHandshakesAreLoggedInWords() async throws {
        let certs = try await testCertificates()
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "server") { _ in CapturingLogHandler(lines: lines, withLevels: true) }
        let server = try await server(tlsProperties(certs, "server", ["Ice.Warn.Connections": "1"]), logger: logger)
        var clientErrors: [String] = []
        for (clientCert, more) in [
            (nil as String?, [String: String]()), ("client", ["IceSSL.CAs": "other-ca.pem"]), ("intruder", [:]),
        ] {
            let refused = try client(tlsProperties(certs, clientCert, more))
            let error = await failure {
                try await tester(refused, "tester:ssl -h 127.0.0.1 -p \(server.port)").ice_ping()
            }
            clientErrors.append(error?.message ?? "")
            await refused.destroy()
        }
        let probe = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: server.port).get()
        try await probe.close()
        #expect(await eventually { lines.withLockedValue { $0.count } >= 4 })
        let logged = lines.withLockedValue { $0 }
        #expect(
            logged.sorted()
                == [
                    "debug closing connection: the peer closed the connection during the TLS handshake",
                    "warning closing connection: TLS: the peer sent no certificate, and IceSSL.VerifyPeer=2 requires one",
                    "warning closing connection: TLS: the peer refused this side's certificate (alert: certificate unknown; does it trust the CA?)",
                    "warning closing connection: TLS: the certificate of 'C=US, O=Floe Tests, CN=intruder' does not chain to a trusted CA",
                ].sorted(), "\(logged)")
        #expect(clientErrors[0].contains("the peer requires a certificate, and this side sent none"), "\(clientErrors)")
        #expect(clientErrors[1].contains("does not chain to a trusted CA"), "\(clientErrors)")
        #expect(!clientErrors.contains { $0.contains("OPENSSL_internal") }, "\(clientErrors)")
        await server.communicator.destroy()
    }

    /// The same checks pass when they should: the wrong host name is fine without
    /// CheckCertName, and TrustOnly lists that name the peer accept it.
    @Test func checksThatPassWhenTheyShould() async throws {
        let certs = try await testCertificates()
        let wronghost = try await server(tlsProperties(certs, "wronghost"))
        let lenient = try client(tlsProperties(certs, "client"))
        try await tester(lenient, "tester:ssl -h 127.0.0.1 -p \(wronghost.port)").ice_ping()
        let listed = try await server(
            tlsProperties(certs, "server", ["IceSSL.TrustOnly.Server": "O=Floe Tests, CN=client"]))
        let trusting = try client(
            tlsProperties(certs, "client", ["IceSSL.TrustOnly.Client": "CN=server; !CN=intruder"]))
        try await tester(trusting, "tester:ssl -h 127.0.0.1 -p \(listed.port)").ice_ping()
        #expect(listed.dispatches.all.count == 1)
        for communicator in [lenient, trusting, wronghost.communicator, listed.communicator] {
            await communicator.destroy()
        }
    }

    /// A chain through an intermediate CA: verified within IceSSL.VerifyDepthMax (3 by default,
    /// 0 for no limit), given whole to servants and clients, and refused past it with a reason.
    @Test func certificateChainsAndVerifyDepthMax() async throws {
        let certs = try await testCertificates()
        let server = try await server(tlsProperties(certs, "chained"))
        for depth in [nil, "3", "0"] {
            let client = try client(tlsProperties(certs, "chained", depth.map { ["IceSSL.VerifyDepthMax": $0] } ?? [:]))
            let tester = try tester(client, "tester:ssl -h 127.0.0.1 -p \(server.port)")
            try await tester.ice_ping()
            let tls = try await tester.ice_getConnection().info.tls
            #expect(tls?.verified == true)
            #expect(tls?.chain.count == 3, "VerifyDepthMax \(depth ?? "default")")
            #expect(tls?.chain[1] == (try pemDER(certs, "intermediate.pem")))
            #expect(tls?.chain.last == (try pemDER(certs, "ca.pem")))
            await client.destroy()
        }
        #expect(server.dispatches.all == Array(repeating: "C=US, O=Floe Tests, CN=chained", count: 3))
        let strict = try client(tlsProperties(certs, "client", ["IceSSL.VerifyDepthMax": "2"]))
        let error = await failure {
            try await tester(strict, "tester:ssl -h 127.0.0.1 -p \(server.port)").ice_ping()
        }
        #expect(error?.code == .security)
        #expect(
            error?.message.contains("3 certificates, more than IceSSL.VerifyDepthMax=2") == true,
            "\(String(describing: error))")
        await strict.destroy()
        await server.communicator.destroy()
    }

    /// A peer presenting more certificates than any real chain has is refused before any path
    /// through them is searched.
    @Test func aPeerPresentingTooManyCertificatesIsRefused() async throws {
        let certs = try await testCertificates()
        let padded = try await server(tlsProperties(certs, "chained", ["IceSSL.CertFile": "long.pem"]))
        let client = try client(tlsProperties(certs, "client"))
        let tooMany = await failure {
            try await tester(client, "tester:ssl -h 127.0.0.1 -p \(padded.port)").ice_ping()
        }
        #expect(tooMany?.code == .security)
        #expect(
            tooMany?.message.contains("the peer sent 7 certificates; Floe accepts chains of at most 6") == true,
            "\(String(describing: tooMany))")
        #expect(padded.dispatches.all.isEmpty)
        await client.destroy()
        await padded.communicator.destroy()
    }

    /// Plain tcp against TLS and TLS against plain tcp: clear errors, nothing dispatched.
    @Test func mismatchedTransports() async throws {
        let certs = try await testCertificates()
        let server = try await server(
            tlsProperties(certs, "server"), endpoints: "ssl -h 127.0.0.1 -p 0:tcp -h 127.0.0.1 -p 0")
        let client = try client(tlsProperties(certs, "client", ["Ice.Override.ConnectTimeout": "3000"]))
        let plainPort = try #require(server.adapter.publishedEndpoints.first { $0.transport == .tcp }?.port)
        let plaintextOnTLS = await failure {
            try await tester(client, "tester:tcp -h 127.0.0.1 -p \(server.port)").ice_ping()
        }
        #expect(plaintextOnTLS != nil)
        let tlsOnPlaintext = await failure {
            try await tester(client, "tester:ssl -h 127.0.0.1 -p \(plainPort)").ice_ping()
        }
        // Usually the plaintext server's validate-connection fails the handshake (security). If
        // the server's reset arrives first, the kernel drops those bytes unread, and the client
        // can only tell that the connection was lost.
        #expect(
            tlsOnPlaintext?.code == .security || tlsOnPlaintext?.code == .connectionLost,
            "\(String(describing: tlsOnPlaintext))")
        #expect(server.dispatches.all.isEmpty)
        #expect(
            plaintextOnTLS?.message.contains("an ssl endpoint sends nothing") == true,
            "\(String(describing: plaintextOnTLS))")
        if tlsOnPlaintext?.code == .security {
            #expect(tlsOnPlaintext?.message.contains("a tcp endpoint behind an ssl proxy") == true)
        }
        // A secure proxy never falls back to tcp: with a tcp endpoint only, it fails clearly.
        let secureWithoutSSL = await failure {
            try await tester(client, "tester -s:tcp -h 127.0.0.1 -p \(plainPort)").ice_ping()
        }
        #expect(secureWithoutSSL?.code == .noEndpoint)
        #expect(secureWithoutSSL?.message.contains("no ssl or wss endpoint") == true)
        // With both, a secure proxy takes the ssl one.
        let both = try tester(client, "tester:tcp -h 127.0.0.1 -p \(plainPort):ssl -h 127.0.0.1 -p \(server.port)")
        try await both.ice_secure(true).ice_ping()
        #expect(try await both.ice_secure(true).ice_getConnection().info.type == "ssl")
        await client.destroy()
        await server.communicator.destroy()
    }

    /// Among tcp and ssl endpoints a proxy takes tcp, unless it prefers secure ones
    /// (`ice_preferSecure`, `Ice.Default.PreferSecure`, `NAME.PreferSecure`); it still falls back
    /// to tcp when no ssl endpoint answers.
    @Test func preferSecure() async throws {
        let certs = try await testCertificates()
        let server = try await server(
            tlsProperties(certs, "server"), endpoints: "ssl -h 127.0.0.1 -p 0:tcp -h 127.0.0.1 -p 0")
        let plainPort = try #require(server.adapter.publishedEndpoints.first { $0.transport == .tcp }?.port)
        let both = "tester:tcp -h 127.0.0.1 -p \(plainPort):ssl -h 127.0.0.1 -p \(server.port)"
        // (A communicator each: an open connection to any of a proxy's endpoints is reused.)
        func type(_ settings: [String: String], _ proxy: (Communicator) throws -> any TesterPrx) async throws -> String
        {
            let communicator = try client(tlsProperties(certs, "client", settings))
            let tester = try proxy(communicator)
            try await tester.ice_ping()
            let type = try await tester.ice_getConnection().info.type
            await communicator.destroy()
            return type
        }
        #expect(try await type([:]) { try tester($0, both) } == "tcp")
        #expect(try await type([:]) { try tester($0, both).ice_preferSecure(true) } == "ssl")
        #expect(try await type(["Ice.Default.PreferSecure": "1"]) { try tester($0, both) } == "ssl")
        #expect(
            try await type(["Ice.Default.PreferSecure": "1"]) { try tester($0, both).ice_preferSecure(false) } == "tcp")
        #expect(
            try await type(["P": both, "P.PreferSecure": "1"]) {
                uncheckedCast(prx: try #require(try $0.propertyToProxy("P")), type: (any TesterPrx).self)
            } == "ssl")
        // An open tcp connection is reused unless the proxy prefers secure endpoints and one of
        // them has a connection open too.
        let shared = try client(tlsProperties(certs, "client"))
        #expect(try await tester(shared, both).ice_getConnection().info.type == "tcp")
        #expect(try await tester(shared, both).ice_preferSecure(true).ice_getConnection().info.type == "tcp")
        _ = try await tester(shared, "tester:ssl -h 127.0.0.1 -p \(server.port)").ice_getConnection()
        #expect(try await tester(shared, both).ice_preferSecure(true).ice_getConnection().info.type == "ssl")
        #expect(try await tester(shared, both).ice_getConnection().info.type == "tcp")
        await shared.destroy()
        let sslDown = "tester:tcp -h 127.0.0.1 -p \(plainPort):ssl -h 127.0.0.1 -p \(try await freePort())"
        #expect(try await type([:]) { try tester($0, sslDown).ice_preferSecure(true) } == "tcp")
        await server.communicator.destroy()
    }

    /// A peer that connects to an ssl port and says nothing (or never finishes its handshake)
    /// is closed after the handshake timeout (`Ice.Override.ConnectTimeout`, else 10 s).
    @Test func aSilentPeerIsClosedAfterTheHandshakeTimeout() async throws {
        let certs = try await testCertificates()
        let server = try await server(tlsProperties(certs, "server", ["Ice.Override.ConnectTimeout": "300"]))
        let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: server.port).get()
        await expectPeerCloses(silent, within: .seconds(5))
        #expect(server.dispatches.all.isEmpty)
        // A real client still gets through.
        let client = try client(tlsProperties(certs, "client"))
        try await tester(client, "tester:ssl -h 127.0.0.1 -p \(server.port)").ice_ping()
        await client.destroy()
        await server.communicator.destroy()
    }

    /// New connections use reloaded certificates; open ones keep theirs.
    @Test func certificatesReloadWithoutRestart() async throws {
        let certs = try await testCertificates()
        let live = FileManager.default.temporaryDirectory.appendingPathComponent("floe-live-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: live) }
        func install(_ name: String) throws {
            for suffix in ["pem", "key"] {
                let target = "\(live)/live.\(suffix)"
                try? FileManager.default.removeItem(atPath: target)
                try FileManager.default.copyItem(atPath: "\(certs)/\(name).\(suffix)", toPath: target)
            }
        }
        try install("server")
        let server = try await server([
            "IceSSL.CAs": "\(certs)/ca.pem", "IceSSL.CertFile": "\(live)/live.pem",
            "IceSSL.KeyFile": "\(live)/live.key",
        ])
        let first = try client(tlsProperties(certs, "client"))
        let before = try tester(first, "tester:ssl -h 127.0.0.1 -p \(server.port)")
        #expect(try await before.ice_getConnection().info.tls?.subject?.hasSuffix("CN=server") == true)
        try install("server2")
        try server.transport.reloadTLS()
        let second = try client(tlsProperties(certs, "client"))
        let after = try tester(second, "tester:ssl -h 127.0.0.1 -p \(server.port)")
        #expect(try await after.ice_getConnection().info.tls?.subject?.hasSuffix("CN=server2") == true)
        try await before.ice_ping()  // the open connection goes on
        #expect(try await before.ice_getConnection().info.tls?.subject?.hasSuffix("CN=server") == true)
        // A reload that fails changes nothing.
        try FileManager.default.removeItem(atPath: "\(live)/live.key")
        #expect(throws: LocalError.self) { try server.transport.reloadTLS() }
        let third = try client(tlsProperties(certs, "client"))
        try await tester(third, "tester:ssl -h 127.0.0.1 -p \(server.port)").ice_ping()
        // Nor does one with settings that fail (a key not of the certificate): a reload without
        // settings then reads the properties again (it rebuilt from the failed settings).
        try install("server")
        var mismatched = Properties()
        for (key, value) in tlsProperties(certs, "server") { mismatched[key] = value }
        mismatched["IceSSL.KeyFile"] = "\(certs)/client.key"
        let bad = try TLSSettings(properties: mismatched)
        #expect(throws: LocalError.self) { try server.transport.reloadTLS(bad) }
        try server.transport.reloadTLS()
        let fourth = try client(tlsProperties(certs, "client"))
        let last = try tester(fourth, "tester:ssl -h 127.0.0.1 -p \(server.port)")
        #expect(try await last.ice_getConnection().info.tls?.subject?.hasSuffix("CN=server") == true)
        for communicator in [first, second, third, fourth, server.communicator] { await communicator.destroy() }
    }

    /// The shipped allow-list middleware authorises by certificate subject per adapter.
    @Test func certificateSubjectMiddlewareAllowsListedSubjectsOnly() async throws {
        let certs = try await testCertificates()
        let allowed = try SubjectFilter("CN=client")
        let server = try await server(tlsProperties(certs, "server")) {
            CertificateSubjectMiddleware(next: $0, allowed: allowed)
        }
        let listed = try client(tlsProperties(certs, "client"))
        #expect(try await tester(listed, "tester:ssl -h 127.0.0.1 -p \(server.port)").opByteSeq(data) == data)
        // A valid certificate of the same CA, but another subject.
        let unlisted = try client(tlsProperties(certs, "server2"))
        await #expect(throws: DispatchError.self) {
            try await tester(unlisted, "tester:ssl -h 127.0.0.1 -p \(server.port)").ice_ping()
        }
        #expect(server.dispatches.all.count == 2)  // both reached the middleware…
        for communicator in [listed, unlisted, server.communicator] { await communicator.destroy() }
    }

    /// A Floe client with mutual TLS to a ZeroC Python server using IceSSL.
    @Test func floeClientToZeroCServerOverSSL() async throws {
        let certs = try await testCertificates()
        let (peer, output) = try launchPeer("ssl_peer.py", ["server", certs])
        defer { if peer.isRunning { kill(peer.processIdentifier, SIGKILL) } }
        let port = try #require(Int(try await firstLine(of: output)), "the ZeroC server did not start")
        let client = try client(tlsProperties(certs, "client", ["IceSSL.CheckCertName": "1"]))
        let tester = try tester(client, "tester:ssl -h 127.0.0.1 -p \(port)")
        #expect(try await tester.opByteSeq(data) == data)
        let seen = try await tester.opContext("peer-cert")
        let sent = try String(contentsOfFile: "\(certs)/client.pem", encoding: .utf8)
        #expect(seen.filter { !$0.isWhitespace } == sent.filter { !$0.isWhitespace }, "ZeroC saw our certificate")
        #expect(try await tester.ice_getConnection().info.tls?.subject == "C=US, O=Floe Tests, CN=server")
        try await tester.shutdown()
        await client.destroy()
    }

    /// A ZeroC Python client with mutual TLS to a Floe server; a ZeroC client whose certificate
    /// Floe does not trust is refused.
    @Test func zeroCClientToFloeServerOverSSL() async throws {
        let certs = try await testCertificates()
        let server = try await server(tlsProperties(certs, "server"))
        let (peer, output) = try launchPeer("ssl_peer.py", ["client", certs, "\(server.port)"])
        let transcript = try await offPool { String(decoding: try output.readToEnd() ?? Data(), as: UTF8.self) }
        await offPool { peer.waitUntilExit() }
        #expect(peer.terminationStatus == 0, "\(transcript)")
        #expect(transcript.hasPrefix("ok\n"))
        let sent = try String(contentsOfFile: "\(certs)/server.pem", encoding: .utf8)
        #expect(transcript.dropFirst(3).filter { !$0.isWhitespace } == sent.filter { !$0.isWhitespace })
        #expect(server.dispatches.all == ["C=US, O=Floe Tests, CN=client"])
        let (intruder, intruderOutput) = try launchPeer("ssl_peer.py", ["client", certs, "\(server.port)", "intruder"])
        let refused = try await offPool { String(decoding: try intruderOutput.readToEnd() ?? Data(), as: UTF8.self) }
        await offPool { intruder.waitUntilExit() }
        #expect(intruder.terminationStatus == 1 && refused.hasPrefix("failed"), "\(refused)")
        #expect(server.dispatches.all.count == 1)
        await server.communicator.destroy()
    }
}
