import FloeCore
import FloeEncoding
import Synchronization

/// How the registry checks that registered adapters still answer (beyond IceGrid, which keeps
/// a crashed server's entry forever): every `interval` it pings each adapter's endpoints, and an
/// adapter that has not answered for `grace` is left out of lookups until it answers again.
public struct Liveness: Sendable {
    public var interval: Duration
    public var grace: Duration
    /// How long one ping may take.
    public var timeout: Duration

    public init(interval: Duration = .seconds(10), grace: Duration = .seconds(30), timeout: Duration = .seconds(2)) {
        self.interval = interval
        self.grace = grace
        self.timeout = timeout
    }

    /// Whether a server answers at `proxy`'s endpoints. Any reply counts, `ObjectNotExist`
    /// included (the registered identity is a placeholder); only silence does not. So does a
    /// refused TLS handshake: a registry without the servers' CA, or without the certificate
    /// they require of clients, cannot go further, but something answered TLS there. (Counting
    /// it as silence left every ssl adapter out of lookups 30 s after it registered.)
    ///
    /// The periodic check (`probing`) of an adapter's ssl or wss endpoints, by a registry
    /// without a certificate of its own (`IceSSL.CertFile`), probes them instead
    /// (`Transport.acceptsConnections`: a ClientHello, then the first bytes back, then a close
    /// without an alert): its handshake would be refused by servers that require client
    /// certificates, and Floe servers log every refusal. A peer leaving during the handshake is
    /// debug output only (ZeroC's IceSSL servers log nothing, even under
    /// `Ice.Warn.Connections`). A second server registering a live id is checked with a ping.
    static func answers(_ proxy: ProxyData, communicator: Communicator, timeout: Duration, probing: Bool = false) async
        -> Bool
    {
        var plain: [EndpointData] = []
        var secure: [IPEndpointData] = []
        for endpoint in proxy.endpoints {
            guard case .ip(let ip) = endpoint else { continue }
            if ip.transport.isSecure { secure.append(ip) } else { plain.append(endpoint) }
        }
        if !plain.isEmpty, await pings(proxy.identity, plain, communicator, timeout) { return true }
        if !secure.isEmpty {
            if probing, (communicator.initialProperties["IceSSL.CertFile"] ?? "").isEmpty,
                let transport = communicator.transport,
                let accepted = await anyAccepts(secure.prefix(maxProbes), transport, timeout)
            {
                return accepted
            }
            return await pings(proxy.identity, secure.map { .ip($0) }, communicator, timeout)
        }
        // Only udp or opaque endpoints: whatever a ping through them tells.
        return plain.isEmpty ? await pings(proxy.identity, proxy.endpoints, communicator, timeout) : false
    }

    /// Whether the process behind a registered Process proxy still runs: its object answers,
    /// facet included. Unlike an adapter's check, object-not-exist or facet-not-exist means it
    /// is gone: what listens there now is another server (often the same one restarted on its
    /// fixed admin port, with a new admin identity).
    static func processAnswers(_ proxy: ProxyData, communicator: Communicator, timeout: Duration) async -> Bool {
        await pings(proxy.identity, facet: proxy.facet, proxy.endpoints, communicator, timeout, objectMustExist: true)
    }

    /// Pings over a connection of its own, closed once answered (aborted if not). Pinged every
    /// `interval`, a cached connection never idled out: the registry held one per registered
    /// address, a descriptor each, and a registrant chose how many. Connecting takes no longer
    /// than the ping may (the endpoints' own timeouts, a minute for ZeroC's servers, would
    /// leave connections opening past it, and one more every round for a silent address).
    private static func pings(
        _ identity: Identity, facet: String = "", _ endpoints: [EndpointData], _ communicator: Communicator,
        _ timeout: Duration, objectMustExist: Bool = false
    ) async -> Bool {
        let check = checks.add(1, ordering: .relaxed).newValue
        let ping = communicator.makeProxy(identity).ice_facet(facet).ice_endpoints(endpoints)
            .ice_invocationTimeout(timeout)
            .ice_timeout(Int32(clamping: Int64((timeout / .milliseconds(1)).rounded(.up))))
            .ice_connectionId("floe-registry-check-\(check)")
        let answered: Bool
        do {
            try await ping.ice_ping()
            answered = true
        } catch let error as DispatchError {
            answered = !objectMustExist || (error.status != .objectNotExist && error.status != .facetNotExist)
        } catch let error as LocalError where error.code == .security {
            answered = true
        } catch {
            answered = false
        }
        // (Closed on the side: a graceful close waits for the peer, which need not hold up the
        // check's place among the 32.)
        if let connection = ping.ice_getCachedConnection() { Task { await connection.close(gracefully: answered) } }
        return answered
    }

    /// Numbers each check's connection.
    private static let checks = Atomic<UInt64>(0)

    /// Endpoints of one adapter probed at once: a registrant chooses how many it publishes.
    static let maxProbes = 8

    /// Whether any of `endpoints` accepts a connection, tried all at once (an adapter listening
    /// everywhere publishes addresses the registry may not reach, each waiting out `timeout`);
    /// nil if the transport cannot tell.
    private static func anyAccepts(
        _ endpoints: ArraySlice<IPEndpointData>, _ transport: any Transport, _ timeout: Duration
    )
        async -> Bool?
    {
        await withTaskGroup(of: Bool?.self) { group in
            for endpoint in endpoints {
                group.addTask { await transport.acceptsConnections(at: endpoint, timeout: timeout) }
            }
            var answer: Bool?
            for await accepts in group {
                if accepts == true {
                    group.cancelAll()
                    return true
                }
                if accepts == false { answer = false }
            }
            return answer
        }
    }
}

extension RegistryState {
    /// Records a check's outcome for `id` (nothing if it was re-registered meanwhile).
    func recordCheck(_ id: String, proxy: ProxyData, answered: Bool, at time: ContinuousClock.Instant) {
        guard adapters[id]?.proxy == proxy else { return }
        if answered {
            silentSince[id] = nil
        } else if silentSince[id] == nil {
            silentSince[id] = time
        }
    }
}

extension RegistryService {
    static let concurrentChecks = 32

    /// Checks every registered adapter, forever (until cancelled).
    static func checkLiveness(_ state: RegistryState, communicator: Communicator, every liveness: Liveness) async {
        while !Task.isCancelled && !communicator.isDestroyed {
            try? await Task.sleep(for: liveness.interval)
            // At most `concurrentChecks` pings at once, however many adapters there are.
            var pending = (await state.adapters)[...]
            await withTaskGroup(of: Void.self) { group in
                func startNext() {
                    guard let (id, adapter) = pending.popFirst() else { return }
                    group.addTask {
                        let started = ContinuousClock.now
                        let answered = await Liveness.answers(
                            adapter.proxy, communicator: communicator, timeout: liveness.timeout, probing: true)
                        await state.recordCheck(id, proxy: adapter.proxy, answered: answered, at: started)
                    }
                }
                for _ in 0..<Self.concurrentChecks { startNext() }
                while await group.next() != nil { startNext() }
            }
        }
    }
}
