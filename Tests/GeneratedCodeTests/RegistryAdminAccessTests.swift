import FloeCore
import FloeEncoding
import FloeIce
import FloeNIO
import FloeProtocol
import NIOCore
import Testing

@testable import FloeRegistry

/// A connection that only tells where it comes from: the admin access check reads nothing else.
private final class RemoteConnection: Connection {
    let communicator: Communicator
    let info: ConnectionInfo

    init(communicator: Communicator, from address: String, tls: TLSPeerInfo? = nil) {
        self.communicator = communicator
        info = ConnectionInfo(
            type: tls == nil ? "tcp" : "ssl", isSecure: tls != nil, incoming: true, localAddress: "10.0.0.1",
            localPort: 4061, remoteAddress: address, remotePort: 50_000, tls: tls)
    }

    func send(
        _ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode, compress: Bool,
        cancellation: CallCancellation?
    ) async throws -> FloeProtocol.Reply? { throw LocalError(.connectionLost, "not a real connection") }
    func flushBatchRequests() async throws {}
    func close() async {}
    func abort() async {}
    var isClosed: Bool { false }
    func setAdapter(_ adapter: ObjectAdapter?) async {}
    func getAdapter() async -> ObjectAdapter? { nil }
    func setACM(timeout: Int?, close: ACMClose?, heartbeats: Bool?) async {}
    func onClose(_ callback: @escaping @Sendable () -> Void) {}
    var description: String { info.description }
}

/// The registry's admin interface can remove registrations and stop servers, and it shares the
/// endpoints every client reaches: by default it serves only callers on the registry's host.
@Suite("Registry admin access", .timeLimit(.minutes(1)))
struct RegistryAdminAccessTests {
    /// The reply status of `getAdapters` on the registry's admin object, called over `connection`.
    private static func status(_ registry: RegistryService, over connection: (any Connection)?) async -> ReplyStatus? {
        let current = Current(
            adapter: registry.adapter, id: Identity(name: "Admin", category: registry.instanceName),
            operation: "getAdapters", mode: .idempotent, requestId: 1, con: connection)
        let request = IncomingRequest(current: current, parameters: ByteBuffer(bytes: [6, 0, 0, 0, 1, 1]))
        switch await registry.adapter.dispatchToReplyMessage(request) {
        case .framed(let message):
            return message.getInteger(at: message.readerIndex + MessageHeader.size + 4, as: UInt8.self)
                .map { ReplyStatus(rawValue: $0) }
        case .reply(let reply):
            return reply.status
        }
    }

    private static let ops = TLSPeerInfo(
        subject: "C=US, O=Example, OU=Ops, CN=alice", certificate: [1], verified: true, protocolVersion: "TLSv1.3")

    @Test func byDefaultOnlyCallersOnTheRegistrysHostAreServed() async throws {
        let communicator = Communicator(transport: NIOTransport())
        let registry = try await RegistryService(
            communicator: communicator, endpoints: "tcp -h 127.0.0.1 -p 0", liveness: nil)
        // Over a real loopback connection, as floe-admin on the same host calls it.
        let port = try #require(registry.adapter.endpoints.first?.port)
        let admin = try makeProxy(
            communicator: communicator, proxyString: "FloeRegistry/Admin:tcp -h 127.0.0.1 -p \(port)",
            type: (any AdminPrx).self)
        #expect(try await admin.getAdapters().isEmpty)

        #expect(await Self.status(registry, over: nil) == .ok)  // collocated
        #expect(await Self.status(registry, over: RemoteConnection(communicator: communicator, from: "::1")) == .ok)
        let remote = RemoteConnection(communicator: communicator, from: "10.0.0.5")
        #expect(await Self.status(registry, over: remote) == .unknownLocalException)
        // A certificate alone is not enough when no subject list is configured.
        let remoteOps = RemoteConnection(communicator: communicator, from: "10.0.0.5", tls: Self.ops)
        #expect(await Self.status(registry, over: remoteOps) == .unknownLocalException)
        await registry.close()
        await communicator.destroy()
    }

    @Test func listedCertificateSubjectsAndAnyoneCanBeAllowed() async throws {
        var properties = Properties()
        properties["Floe.Registry.Admin.TrustOnly"] = "O=Example, OU=Ops"
        let communicator = Communicator(transport: NIOTransport())
        let registry = try await RegistryService(
            communicator: communicator, endpoints: "tcp -h 127.0.0.1 -p 0", liveness: nil,
            adminAccess: try CallerAccess(properties: properties, prefix: "Floe.Registry.Admin"), adapterName: "Listed")
        func status(_ tls: TLSPeerInfo?) async -> ReplyStatus? {
            await Self.status(registry, over: RemoteConnection(communicator: communicator, from: "10.0.0.5", tls: tls))
        }
        #expect(await status(Self.ops) == .ok)
        var unverified = Self.ops
        unverified.verified = false
        #expect(await status(unverified) == .unknownLocalException)
        var other = Self.ops
        other.subject = "C=US, O=Example, OU=Sales, CN=bob"
        #expect(await status(other) == .unknownLocalException)
        #expect(await status(nil) == .unknownLocalException)
        await registry.close()

        properties = Properties()
        properties["Floe.Registry.Admin.Access"] = "any"
        let open = try await RegistryService(
            communicator: communicator, endpoints: "tcp -h 127.0.0.1 -p 0", liveness: nil,
            adminAccess: try CallerAccess(properties: properties, prefix: "Floe.Registry.Admin"), adapterName: "Open")
        #expect(await Self.status(open, over: RemoteConnection(communicator: communicator, from: "10.0.0.5")) == .ok)
        await open.close()

        properties["Floe.Registry.Admin.Access"] = "everyone"
        #expect(throws: LocalError.self) { try CallerAccess(properties: properties, prefix: "Floe.Registry.Admin") }
        await communicator.destroy()
    }

    /// Registration decides where clients are sent: by default only servers on the registry's
    /// host register (and unregister) adapters and servers, as IceGrid takes no registration
    /// unless dynamic registration is on, and answers as it does then (the id is not found).
    /// `Floe.Registry.Registration.Access=any` or a TrustOnly list admits others. (Anyone who
    /// reached the registry could register any id before its server, at the registry's own
    /// address, which always answers the liveness check, and keep the server out for good.)
    @Test func byDefaultOnlyServersOnTheRegistrysHostRegister() async throws {
        let communicator = Communicator(transport: NIOTransport())
        let adapter = try await communicator.createObjectAdapter(name: "")
        let proxy = try #require(try communicator.stringToProxy("dummy:tcp -h 10.0.0.5 -p 4000"))
        let process = uncheckedCast(prx: proxy, type: (any ProcessPrx).self)
        /// What registering adapter "A" and server "S" from `connection` (nil: collocated) came to.
        func register(_ access: CallerAccess, over connection: (any Connection)?) async throws -> [String] {
            let state = try await RegistryState()
            let servant = LocatorRegistryServant(
                state: state, allowOverwrite: false, pingTimeout: .seconds(1), access: access)
            let current = Current(
                adapter: adapter, id: Identity(name: "LocatorRegistry"), operation: "x", con: connection)
            var outcomes: [String] = []
            do {
                try await servant.setAdapterDirectProxy(id: "A", proxy: proxy, current: current)
                outcomes.append(await state.adapters["A"] == nil ? "not kept" : "adapter")
            } catch is AdapterNotFoundException {
                outcomes.append("refused")
            }
            do {
                try await servant.setServerProcessProxy(id: "S", proxy: process, current: current)
                outcomes.append(await state.processes["S"] == nil ? "not kept" : "server")
            } catch is ServerNotFoundException {
                outcomes.append("refused")
            }
            return outcomes
        }
        let remote = RemoteConnection(communicator: communicator, from: "10.0.0.5")
        #expect(try await register(.local, over: remote) == ["refused", "refused"])
        #expect(try await register(.local, over: nil) == ["adapter", "server"])
        #expect(
            try await register(.local, over: RemoteConnection(communicator: communicator, from: "127.0.0.1")) == [
                "adapter", "server",
            ])
        // A server on the registry's host that named its network address, not loopback.
        let sameHost = RemoteConnection(communicator: communicator, from: "10.0.0.1")
        #expect(try await register(.local, over: sameHost) == ["adapter", "server"])
        #expect(try await register(.anyone, over: remote) == ["adapter", "server"])
        var properties = Properties()
        properties["Floe.Registry.Registration.TrustOnly"] = "OU=Ops"
        let listed = try CallerAccess(properties: properties, prefix: "Floe.Registry.Registration")
        let ops = RemoteConnection(communicator: communicator, from: "10.0.0.5", tls: Self.ops)
        #expect(try await register(listed, over: ops) == ["adapter", "server"])
        #expect(try await register(listed, over: remote) == ["refused", "refused"])
        await communicator.destroy()
    }
}
