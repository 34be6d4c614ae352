import FloeEncoding
import FloeProtocol

/// The calls Floe makes on `::Ice::Router` (Glacier2's router among others), encoded here by
/// hand as `LocatorCalls` are: operation names, modes and parameters are the wire contract of
/// `Slice/Ice/Router.ice`.
struct RouterCalls {
    /// The router, never itself routed.
    let target: ProxyReference

    init(router: ProxyData, communicator: Communicator) {
        target = .unrouted(router, communicator)
    }

    /// `getClientProxy`: where routed requests go (nil: to the router's own endpoints), and
    /// whether the router needs each proxy added before it forwards to it. A router that does
    /// not say (an Ice 3.6 one) keeps a routing table, as Ice assumes.
    func getClientProxy() async throws -> (proxy: ProxyData?, hasRoutingTable: Bool) {
        try await call("getClientProxy", mode: .nonmutating, write: { _ in }) { stream in
            let proxy = try stream.read(ProxyData.self)
            return (proxy, try stream.read(tag: 1, Bool.self) ?? true)
        }
    }

    /// `getServerProxy`: where the router receives callbacks for its clients.
    func getServerProxy() async throws -> ProxyData? {
        try await call("getServerProxy", mode: .nonmutating, write: { _ in }) { try $0.read(ProxyData.self) }
    }

    /// `addProxies`: adds `proxies` to the routing table; returns those the router evicted.
    func addProxies(_ proxies: [ProxyData]) async throws -> [ProxyData] {
        try await call("addProxies", mode: .idempotent, write: { proxies.map { Optional($0) }.encode(to: &$0) }) {
            try [ProxyData?](from: &$0).compactMap { $0 }
        }
    }

    /// How often Glacier2 needs to hear from a session's connection: its `getACMTimeout`, else
    /// (Glacier2 3.6) its `getSessionTimeout`, in seconds; nil when the router has neither (it is
    /// not Glacier2), says 0, or cannot be asked.
    func keepAliveSeconds() async -> Int? {
        if let acm = try? await call(
            "getACMTimeout", mode: .nonmutating, write: { _ in }, read: { try $0.read(Int32.self) }),
            acm > 0
        {
            return Int(acm)
        }
        if let session = try? await call(
            "getSessionTimeout", mode: .nonmutating, write: { _ in }, read: { try $0.read(Int64.self) }), session > 0
        {
            return Int(clamping: session)
        }
        return nil
    }

    private func call<T>(
        _ operation: String, mode: OperationMode, write: (inout OutputStream) -> Void,
        read: (inout InputStream) throws -> T
    ) async throws -> T {
        // A router is not located (Ice calls it without a locator): asked for an indirect one,
        // the default locator would be called through this very router, and wait on itself.
        guard !target.data.endpoints.isEmpty || target.communicator.collocatedAdapter(for: target) != nil else {
            throw LocalError(
                .noEndpoint,
                "the router '\(target.communicator.proxyToString(ObjectPrxI(_reference: target)))' has no endpoints: a router is reached directly, not through a locator"
            )
        }
        let sent = try await target.send(
            operation: operation, mode: mode, context: target.requestContext(nil),
            parameters: target.encapsulation(write))
        guard let reply = sent else { throw LocalError(.twowayOnly, "the router proxy must be twoway") }
        if let failure = DispatchError(failedReply: reply) { throw failure }
        guard reply.status == .ok, case .encapsulation(let replyEncoding, let content) = reply.body else {
            throw LocalError(
                .unknownUserException, "the router's '\(operation)' raised an exception it does not declare")
        }
        var stream = InputStream(buffer: content, encoding: replyEncoding, sliceLoader: SliceRegistry())
        stream.owner = target.communicator
        do {
            let result = try read(&stream)
            try stream.finishContent()
            return result
        } catch let error as MarshalError {
            throw LocalError(.marshal, "reply to '\(operation)' from the router: \(error)")
        }
    }
}
