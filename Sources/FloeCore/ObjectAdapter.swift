public import FloeEncoding
import FloeProtocol
import Logging
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Maps identities (and facets) to servants and dispatches requests to them.
public final class ObjectAdapter: Sendable {
    struct State {
        var servants: [Identity: [String: any Dispatcher]] = [:]
        var defaultServants: [String: any Dispatcher] = [:]
        var locators: [String: any ServantLocator] = [:]
        /// Middleware factories in the order `use` got them: the first sees requests first.
        var middleware: [@Sendable (any Dispatcher) -> any Dispatcher] = []
        /// The middleware wrapped around `ServantDispatcher`, built at the first `activate()`;
        /// nil without middleware (requests then go straight to their servant).
        var pipeline: (any Dispatcher)?
        var everActivated = false
        var active = false
        /// A new adapter holds requests until `activate()`, as in Ice: none reaches a servant
        /// before the application has added its servants.
        var held = true
        /// Collocated dispatches waiting for `activate()` while the adapter is held.
        var heldDispatches: [CheckedContinuation<Void, Never>] = []
        /// Connections holding requests until `activate()` (or deactivation), woken once each.
        var connectionsWaiting: [ObjectIdentifier: @Sendable () -> Void] = [:]
        var destroyed = false
        /// Set once a deactivation has closed the listeners: connections are refused from then
        /// on (until then they are served, as in Ice, and closed with the others).
        var stoppedAccepting = false
        /// Set once a deactivation has closed the connections and removed the servants:
        /// requests (collocated ones) then find no object.
        var released = false
        /// The deactivation under way or done (see `deactivate()`), and its first part (see
        /// `listenersClosed()`).
        var deactivation: Task<Void, Never>?
        var stopping: Task<[any Connection], Never>?
        /// Callers of `waitForDeactivate()` before any deactivation started, by token; the
        /// tokens of those cancelled before they were registered.
        var deactivationWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var cancelledWaiters: Set<UInt64> = []
        var nextWaiter: UInt64 = 0
        /// Collocated dispatches running (Ice's direct count) and those of connections that died
        /// while they ran, and what waits for them to end.
        var unconnectedDispatches = 0
        var unconnectedDrained: [@Sendable () -> Void] = []
        var acceptors: [any Acceptor] = []
        var published: [IPEndpointData]?
        /// Whether the registry has this adapter's endpoints (see `oneRegistryUpdateAtATime`).
        var registered = false
        var registryUpdating = false
        var registryUpdatesWaiting: [CheckedContinuation<Void, Never>] = []
        /// Incoming connections, closed gracefully on deactivation.
        var connections: [ObjectIdentifier: any Connection] = [:]
        /// Incoming connections still opening (a WebSocket upgrade): they count against
        /// `maxConnections` too (see `reserveOpening`).
        var openings = 0
        /// When a refused connection was last reported (see `register`).
        var lastRefusalReport: ContinuousClock.Instant?
    }

    public let name: String
    public let communicator: Communicator
    /// Incoming connections this adapter keeps open at once (`NAME.MaxConnections`, 10,000;
    /// 0 means no limit). Beyond it, new connections are closed as soon as they are accepted.
    public let maxConnections: Int
    let state = NIOLockedValueBox(State())
    /// Whether requests must wait for `activate()`: held, or never activated (`state.held`,
    /// read without the lock by connections before each dispatch).
    private let holding = Atomic<Bool>(true)
    /// See `registrationIdentity`.
    let registrationCategory = "floe-adapter-" + ObjectAdapter.uuid()

    /// The id under which `activate()` registers this adapter's endpoints with the locator
    /// (`NAME.AdapterId`); empty: none. Its proxies are then indirect (`identity @ id`).
    public let adapterId: String
    /// The replica group the adapter joins (`NAME.ReplicaGroupId`); its proxies then name the group.
    public let replicaGroupId: String
    /// The locator it registers with (`NAME.Locator`, else `Ice.Default.Locator`).
    public let locator: ProxyData?

    init(
        name: String, communicator: Communicator, maxConnections: Int = 10_000, adapterId: String = "",
        replicaGroupId: String = "", locator: ProxyData? = nil
    ) {
        self.name = name
        self.communicator = communicator
        self.maxConnections = maxConnections
        self.adapterId = adapterId
        self.replicaGroupId = replicaGroupId
        self.locator = locator ?? communicator.defaultLocator
    }

    /// Adds `servant` as the default facet of `id`; returns a proxy for it.
    @discardableResult
    public func add(servant: any Dispatcher, id: Identity) throws -> any ObjectPrx {
        try addFacet(servant: servant, id: id, facet: "")
    }

    @discardableResult
    public func addFacet(servant: any Dispatcher, id: Identity, facet: String) throws -> any ObjectPrx {
        guard !id.name.isEmpty else { throw LocalError(.invalidArgument, "a servant's identity needs a name") }
        try state.withLockedValue { state in
            guard !state.destroyed else {
                throw LocalError(.objectAdapterDeactivated, "adapter '\(name)' is destroyed")
            }
            guard state.servants[id]?[facet] == nil else {
                throw LocalError(.alreadyRegistered, "servant for '\(id.name)' facet '\(facet)' already registered")
            }
            state.servants[id, default: [:]][facet] = servant
        }
        return createProxy(id).ice_facet(facet)
    }

    /// Removes the default facet of `id` and returns it.
    @discardableResult
    public func remove(_ id: Identity) throws -> any Dispatcher {
        try removeFacet(id: id, facet: "")
    }

    @discardableResult
    public func removeFacet(id: Identity, facet: String) throws -> any Dispatcher {
        try state.withLockedValue { state in
            guard let servant = state.servants[id]?.removeValue(forKey: facet) else {
                throw LocalError(.notRegistered, "no servant for '\(id.name)' facet '\(facet)'")
            }
            if state.servants[id]?.isEmpty == true { state.servants[id] = nil }
            return servant
        }
    }

    /// The servant a request for `id` would reach (see `findFacet`).
    public func find(_ id: Identity) -> (any Dispatcher)? { findFacet(id: id, facet: "") }

    /// As in Ice, the servant registered for `id` and `facet`, else the default servant of the
    /// identity's category, else the default servant of category "" (servant locators are not
    /// asked).
    public func findFacet(id: Identity, facet: String) -> (any Dispatcher)? {
        state.withLockedValue { state in
            state.servants[id]?[facet] ?? state.defaultServants[id.category] ?? state.defaultServants[""]
        }
    }

    /// The servant for the proxy's identity and facet, as Ice's `findByProxy` (see `findFacet`).
    public func findByProxy(_ proxy: any ObjectPrx) -> (any Dispatcher)? {
        findFacet(id: proxy.ice_getIdentity(), facet: proxy.ice_getFacet())
    }

    /// Adds `servant` under a new identity whose name is a random UUID; returns a proxy for it.
    @discardableResult
    public func addWithUUID(_ servant: any Dispatcher) throws -> any ObjectPrx {
        try add(servant: servant, id: Identity(name: Self.uuid()))
    }

    /// `addFacet` under a new identity, a UUID.
    @discardableResult
    public func addFacetWithUUID(_ servant: any Dispatcher, facet: String) throws -> any ObjectPrx {
        try addFacet(servant: servant, id: Identity(name: Self.uuid()), facet: facet)
    }

    /// Whether `id` has a servant of its own, for any facet.
    func hasServant(_ id: Identity) -> Bool { state.withLockedValue { !($0.servants[id]?.isEmpty ?? true) } }

    /// Every facet of `id`, by facet name.
    public func findAllFacets(_ id: Identity) -> [String: any Dispatcher] {
        state.withLockedValue { $0.servants[id] ?? [:] }
    }

    /// Removes every facet of `id` and returns them; fails if there was none.
    @discardableResult
    public func removeAllFacets(_ id: Identity) throws -> [String: any Dispatcher] {
        try remove(id, from: \.servants, "no servant for '\(id.name)'")
    }

    public func findDefaultServant(category: String) -> (any Dispatcher)? {
        state.withLockedValue { $0.defaultServants[category] }
    }

    @discardableResult
    public func removeDefaultServant(category: String) throws -> any Dispatcher {
        try remove(category, from: \.defaultServants, "no default servant for category '\(category)'")
    }

    /// Installs dispatch middleware (Ice 3.8's `use`): `middleware` gets the dispatcher that
    /// comes after it and returns the one that runs instead. Middleware installed first sees
    /// requests first; all of them see every request, including those for objects this adapter
    /// does not have. Install middleware before the first `activate()`.
    @discardableResult
    public func use(_ middleware: @escaping @Sendable (_ next: any Dispatcher) -> any Dispatcher) throws
        -> ObjectAdapter
    {
        try state.withLockedValue { state in
            guard !state.everActivated else {
                throw LocalError(.invalidArgument, "adapter '\(name)': install middleware before activate()")
            }
            state.middleware.append(middleware)
        }
        return self
    }

    /// Asks `locator` for the servants of identities of `category` (empty: any category without
    /// a locator of its own) that have no servant, nor default servant, registered.
    public func addServantLocator(_ locator: any ServantLocator, category: String) throws {
        try state.withLockedValue { state in
            guard !state.destroyed else {
                throw LocalError(.objectAdapterDeactivated, "adapter '\(name)' is destroyed")
            }
            guard state.locators[category] == nil else {
                throw LocalError(.alreadyRegistered, "servant locator for category '\(category)' already registered")
            }
            state.locators[category] = locator
        }
    }

    /// Removes the locator of `category` and returns it (without calling its `deactivate`).
    @discardableResult
    public func removeServantLocator(category: String) throws -> any ServantLocator {
        try remove(category, from: \.locators, "no servant locator for category '\(category)'")
    }

    public func findServantLocator(category: String) -> (any ServantLocator)? {
        state.withLockedValue { $0.locators[category] }
    }

    /// Removes and returns what `table` holds for `key`; `notRegistered` with `missing` if nothing.
    private func remove<Key: Hashable, Entry>(
        _ key: Key, from table: WritableKeyPath<State, [Key: Entry]>, _ missing: @autoclosure () -> String
    ) throws -> Entry {
        try state.withLockedValue { state in
            guard let entry = state[keyPath: table].removeValue(forKey: key) else {
                throw LocalError(.notRegistered, missing())
            }
            return entry
        }
    }

    /// A version 4 UUID in its usual text form.
    static func uuid() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0f | 0x40
        bytes[8] = bytes[8] & 0x3f | 0x80
        let hex = bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }
            .joined(separator: "-")
    }

    /// Serves every identity of `category` (empty: every identity) that has no servant of its own.
    public func addDefaultServant(_ servant: any Dispatcher, category: String) throws {
        try state.withLockedValue { state in
            guard !state.destroyed else {
                throw LocalError(.objectAdapterDeactivated, "adapter '\(name)' is destroyed")
            }
            guard state.defaultServants[category] == nil else {
                throw LocalError(.alreadyRegistered, "default servant for category '\(category)' already registered")
            }
            state.defaultServants[category] = servant
        }
    }

    /// A proxy for `id` carrying this adapter's endpoints (none for a collocated-only adapter).
    /// A proxy for `id`: indirect (`id @ adapter id`, or the replica group) when the adapter has
    /// an adapter id, else direct, with this adapter's endpoints (none for a collocated-only one).
    public func createProxy(_ id: Identity) -> any ObjectPrx {
        guard !adapterId.isEmpty else { return createDirectProxy(id) }
        return indirectProxy(id, at: replicaGroupId.isEmpty ? adapterId : replicaGroupId)
    }

    /// A proxy for `id` carrying this adapter's published endpoints.
    public func createDirectProxy(_ id: Identity) -> any ObjectPrx {
        communicator.makeProxy(id).ice_endpoints(publishedEndpoints.map(EndpointData.init))
            .ice_endpointSelection(communicator.defaultEndpointSelection)
    }

    /// A proxy for `id` that the locator resolves to this adapter: `id @ adapter id`, even
    /// when the adapter is in a replica group (`createProxy` names the group), as in Ice.
    public func createIndirectProxy(_ id: Identity) -> any ObjectPrx { indirectProxy(id, at: adapterId) }

    private func indirectProxy(_ id: Identity, at adapterId: String) -> any ObjectPrx {
        let proxy = communicator.makeProxy(id).ice_adapterId(adapterId)
        guard let locator, locator != communicator.defaultLocator else { return proxy }
        return proxy.ice_locator(ObjectPrxI(_reference: communicator.locatorReference(locator)))
    }

    /// The endpoints its proxies carry: `NAME.PublishedEndpoints` (or `setPublishedEndpoints`)
    /// when set, else the endpoints it listens on with the ports actually bound.
    public var publishedEndpoints: [IPEndpointData] {
        state.withLockedValue { $0.published ?? $0.acceptors.flatMap(\.publishedEndpoints) }
    }

    /// The endpoints it listens on, with the ports actually bound.
    public var endpoints: [IPEndpointData] { state.withLockedValue { $0.acceptors.map(\.endpoint) } }

    /// Overrides the endpoints put in proxies (e.g. a host name reachable from outside); nil
    /// publishes the endpoints it listens on. An activated adapter with an adapter id registers
    /// them with its locator again, as in Ice; if that fails, the old ones stay.
    public func setPublishedEndpoints(_ endpoints: [IPEndpointData]?) async throws {
        let old = state.withLockedValue { state in
            defer { state.published = endpoints }
            return state.published
        }
        do {
            try await registerPublishedEndpointsAgain()
        } catch {
            storePublishedEndpoints(old)
            throw error
        }
    }

    /// Publishes `NAME.PublishedEndpoints` as it now reads (after `setProperties`, say), else the
    /// endpoints it listens on (as bound when it was created: unlike Ice, the machine's
    /// interfaces are not listed again), and registers them as `setPublishedEndpoints` does.
    public func refreshPublishedEndpoints() async throws {
        try await setPublishedEndpoints(try communicator.configuredPublishedEndpoints(adapter: name))
    }

    /// The identity of the direct proxy registered under the adapter id: `dummy`, as in Ice
    /// (lookups use only its endpoints), in a category unique to this adapter, so that
    /// floe-registry tells this adapter registering new endpoints (`setPublishedEndpoints`)
    /// from another server taking its id while this one runs.
    var registrationIdentity: Identity { Identity(name: "dummy", category: registrationCategory) }

    func storePublishedEndpoints(_ endpoints: [IPEndpointData]?) { state.withLockedValue { $0.published = endpoints } }

    private func registerPublishedEndpointsAgain() async throws {
        guard !adapterId.isEmpty else { return }
        try await oneRegistryUpdateAtATime {
            guard state.withLockedValue({ $0.registered && $0.deactivation == nil }) else { return }
            try await updateLocatorRegistry(registering: true)
        }
    }

    /// Runs the adapter's registrations with its locator one at a time, in order, so that none
    /// lands after the deactivation's unregistration (the registry would keep sending clients
    /// to an adapter that stopped), and endpoints published while the activation's registration
    /// is under way are registered after it.
    private func oneRegistryUpdateAtATime<T>(_ update: () async throws -> T) async rethrows -> T {
        await withCheckedContinuation { continuation in
            let now = state.withLockedValue { state in
                if !state.registryUpdating {
                    state.registryUpdating = true
                    return true
                }
                state.registryUpdatesWaiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
        defer {
            // Hand over to the next update directly: `registryUpdating` stays set for it.
            let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                if state.registryUpdatesWaiting.isEmpty {
                    state.registryUpdating = false
                    return nil
                }
                return state.registryUpdatesWaiting.removeFirst()
            }
            next?.resume()
        }
        return try await update()
    }

    /// Keeps a listener of this adapter's. One that opened after the adapter was destroyed (a
    /// `destroy()` while it was being created) is closed at once: nothing else would ever
    /// close it, and its port stayed bound.
    func addAcceptor(_ acceptor: any Acceptor) async throws {
        let kept = state.withLockedValue { state in
            guard !state.destroyed else { return false }
            state.acceptors.append(acceptor)
            return true
        }
        guard kept else {
            await acceptor.close()
            throw LocalError(.objectAdapterDeactivated, "adapter '\(name)' was destroyed while it was being created")
        }
    }

    /// Starts (or, after `hold()`, resumes) dispatching.
    public func activate() async throws {
        guard !isDeactivated else {
            throw LocalError(.objectAdapterDeactivated, "adapter '\(name)' is deactivated")
        }
        // The admin object comes with the first adapter, as with a ZeroC server (`Ice.Admin.*`).
        if name != "Ice.Admin" { _ = try await communicator.getAdmin() }
        let first = state.withLockedValue { !$0.everActivated }
        if !adapterId.isEmpty, first {
            try await oneRegistryUpdateAtATime {
                guard state.withLockedValue({ !$0.registered && $0.deactivation == nil }) else { return }
                try await updateLocatorRegistry(registering: true)
                state.withLockedValue { $0.registered = true }
            }
        }
        activateDispatch()
        if first, !name.isEmpty, (try? communicator.properties.int("Ice.PrintAdapterReady", default: 0)) ?? 0 > 0 {
            // Scripts and IceGrid-style launchers wait for this line on standard output.
            Self.printReady(name)
        }
    }

    private static func printReady(_ name: String) {
        print("\(name) ready")
        fflush(nil)  // every C stream: `print` writes through stdout, which a pipe buffers
    }

    /// Builds the middleware pipeline the first time, and releases held requests.
    private func activateDispatch() {
        let lookup = ServantDispatcher(adapter: self)
        let waiting = state.withLockedValue { state -> @Sendable () -> Void in
            guard !state.destroyed else { return {} }  // (deactivated meanwhile)
            if !state.everActivated {
                state.everActivated = true
                let middleware = builtInMiddleware + state.middleware
                if !middleware.isEmpty {
                    state.pipeline = middleware.reversed().reduce(lookup as any Dispatcher) { next, wrap in
                        wrap(next)
                    }
                }
            }
            state.active = true
            state.held = false
            holding.store(false, ordering: .sequentiallyConsistent)
            return Self.takeWaiting(&state)
        }
        waiting()
    }

    /// What waits for the adapter to stop holding requests, taken: a function that wakes it
    /// (called outside the lock). Connections only on activation: on deactivation they keep
    /// their held requests until they close.
    private static func takeWaiting(_ state: inout State, connectionsToo: Bool = true) -> @Sendable () -> Void {
        let dispatches = state.heldDispatches
        let connections = connectionsToo ? Array(state.connectionsWaiting.values) : []
        state.heldDispatches = []
        if connectionsToo { state.connectionsWaiting = [:] }
        return {
            for dispatch in dispatches { dispatch.resume() }
            for connection in connections { connection() }
        }
    }

    /// Whether requests must wait: the adapter is held, or was never activated. Connections
    /// then keep them (read no further past `Floe.Connection.MaxQueuedBytes`) and ask to be
    /// woken (`wakeWhenNotHolding`), as Ice's connections stop reading while their adapter is
    /// held: a request parked in the adapter took a dispatch place, and kept its bytes, without
    /// bound.
    package var isHoldingRequests: Bool { holding.load(ordering: .relaxed) }

    /// Calls `wake` once the adapter no longer holds requests (activated or deactivated); at
    /// once if it does not now. `waiter` names the caller, for `stopWaking`.
    package func wakeWhenNotHolding(_ waiter: ObjectIdentifier, _ wake: @escaping @Sendable () -> Void) {
        let now = state.withLockedValue { state in
            guard state.held, !state.released else { return true }
            state.connectionsWaiting[waiter] = wake
            return false
        }
        if now { wake() }
    }

    /// Forgets `waiter`'s wake-up (its connection closed): a connection that dies while the
    /// adapter holds its requests is not kept until `activate()`.
    package func stopWaking(_ waiter: ObjectIdentifier) {
        _ = state.withLockedValue { $0.connectionsWaiting.removeValue(forKey: waiter) }
    }

    /// The communicator's tracing middleware, outermost (see `Observability`; metrics are
    /// measured in `dispatchToReply`).
    private var builtInMiddleware: [@Sendable (any Dispatcher) -> any Dispatcher] {
        var middleware: [@Sendable (any Dispatcher) -> any Dispatcher] = []
        if let tracer = communicator.observability.tracer {
            middleware.append { TracingMiddleware(next: $0, tracer: tracer) }
        }
        return middleware
    }

    /// Connections and collocated dispatches waiting for `activate()`; tests wait on it
    /// instead of on a fixed delay.
    var heldDispatchCount: Int {
        state.withLockedValue { $0.heldDispatches.count + $0.connectionsWaiting.count }
    }

    /// Suspends dispatching: requests wait on their connections, which stop reading once
    /// `Floe.Connection.MaxQueuedBytes` of them wait, until `activate()`. Nothing changes on a
    /// deactivated adapter.
    public func hold() {
        state.withLockedValue { state in
            guard !state.destroyed else { return }
            state.held = true
            holding.store(true, ordering: .sequentiallyConsistent)
        }
    }

    /// Stops serving, as Ice's `deactivate` does: it unregisters from its locator (serving
    /// requests and new connections meanwhile, as Ice does), closes its listeners (refusing
    /// connections from then on) and its incoming connections gracefully (each once its
    /// running dispatches have replied; requests arriving then are dropped, and close-connection
    /// tells the client to send them again, once replies to the server's own calls over a
    /// connection have come) and removes its servants — without this waiting for
    /// that, so a servant may call it and still reply. `waitForDeactivate()` and `destroy()`
    /// wait. Later calls do nothing.
    public func deactivate() async { startDeactivation() }

    /// Returns once the adapter has been deactivated (by `deactivate()`, `destroy()`, the
    /// communicator's shutdown, or a servant calling one of them) and that has finished, as
    /// Ice's `waitForDeactivate` does: a server's main task can wait here.
    /// Cancelling the caller ends the wait at once, whether or not a deactivation has started.
    public func waitForDeactivate() async {
        let token = state.withLockedValue { state in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { state in
                    if state.deactivation != nil || state.cancelledWaiters.remove(token) != nil { return true }
                    state.deactivationWaiters[token] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.deactivationWaiters.removeValue(forKey: token) { return waiter }
                if state.deactivation == nil { state.cancelledWaiters.insert(token) }
                return nil
            }
            waiter?.resume()
        }
        guard !Task.isCancelled else { return }
        if let deactivation = state.withLockedValue({ $0.deactivation }) { await deactivation.value }
    }

    /// Deactivates the adapter and waits until that is done.
    public func destroy() async {
        await startDeactivation().value
    }

    /// What deactivating takes from a live adapter, to close and release.
    struct Deactivation: Sendable {
        let acceptors: [any Acceptor]
        let connections: [any Connection]
    }

    /// The synchronous part of `deactivate()`: from here on the adapter takes no servant or
    /// activation. Requests (and connections, until the listeners close) are still served, as
    /// Ice's are while its adapter unregisters, until the connections close (dropping what arrives then, which their
    /// close-connection tells the peer to send again); a held adapter's stay held, and are
    /// dropped so. Returns the task that does the rest.
    @discardableResult
    func startDeactivation() -> Task<Void, Never> {
        let (deactivation, waiting, waiters) = state.withLockedValue {
            state -> (Task<Void, Never>, @Sendable () -> Void, [CheckedContinuation<Void, Never>]) in
            if let deactivation = state.deactivation { return (deactivation, {}, []) }
            let taken = Deactivation(
                acceptors: state.acceptors, connections: Array(state.connections.values))
            // (Collocated calls parked while held are woken to find no object; connections
            // keep theirs until they close.)
            let waiting = Self.takeWaiting(&state, connectionsToo: false)
            state.destroyed = true
            state.acceptors = []
            state.connections = [:]
            // (Created under the lock, so that every caller sees the same task.)
            let stopping = Task { await self.stopListening(taken) }
            let deactivation = Task { await self.finishDeactivation(taken, late: await stopping.value) }
            state.stopping = stopping
            state.deactivation = deactivation
            defer {
                state.deactivationWaiters = [:]
                state.cancelledWaiters = []
            }
            return (deactivation, waiting, Array(state.deactivationWaiters.values))
        }
        waiting()
        for waiter in waiters { waiter.resume() }
        return deactivation
    }

    /// The rest of `deactivate()`: unregistering, closing, releasing the servants.
    /// The first part of the rest: unregistering, closing the listeners. Returns the
    /// connections accepted meanwhile.
    private func stopListening(_ taken: Deactivation) async -> [any Connection] {
        if !adapterId.isEmpty {
            await oneRegistryUpdateAtATime {
                guard state.withLockedValue({ $0.registered }) else { return }
                // Best effort: the registry must not keep sending clients here.
                do {
                    try await updateLocatorRegistry(registering: false)
                } catch {
                    communicator.logger.warning("adapter '\(name)': could not unregister '\(adapterId)': \(error)")
                }
                state.withLockedValue { $0.registered = false }
            }
        }
        for acceptor in taken.acceptors { await acceptor.close() }
        // Those accepted meanwhile (served, as Ice serves them while it unregisters).
        return state.withLockedValue { state in
            state.stoppedAccepting = true
            defer { state.connections = [:] }
            return Array(state.connections.values)
        }
    }

    /// Returns once a deactivation has unregistered the adapter and closed its listeners (at
    /// once if none has started): `Communicator.destroy()` closes its client connections
    /// after that, as Ice's does, since unregistering needs them.
    func listenersClosed() async {
        guard let stopping = state.withLockedValue({ $0.stopping }) else { return }
        _ = await stopping.value
    }

    /// The rest: closing the connections, releasing the servants.
    private func finishDeactivation(_ taken: Deactivation, late: [any Connection]) async {
        let deadline = communicator.closeDeadline()
        // Graceful closes: each waits for its running dispatches to reply (however long they
        // take, as in Ice), so a server that deactivates, then exits, loses no answered call.
        await withTaskGroup(of: Void.self) { group in
            for connection in taken.connections + late { group.addTask { await connection.close() } }
        }
        await unconnectedDispatchesEnded(by: deadline)
        let removed = state.withLockedValue { state in
            defer {
                state.servants = [:]
                state.defaultServants = [:]
                state.locators = [:]
                state.pipeline = nil
            }
            state.released = true
            // (Requests on connections it serves still, bidirectional ones, now find no object.)
            holding.store(false, ordering: .sequentiallyConsistent)
            return (state.servants, state.defaultServants, state.locators, Self.takeWaiting(&state))
        }
        removed.3()
        for (category, locator) in removed.2 { await locator.deactivate(category: category) }
        _ = removed  // released here, outside the lock: a servant's deinit may call back in
        communicator.removeAdapter(self)
    }

    public var isDeactivated: Bool { state.withLockedValue { $0.destroyed } }

    /// The incoming connections this adapter serves now.
    var openConnections: [any Connection] { state.withLockedValue { Array($0.connections.values) } }

    /// Called by transports for every incoming connection, while it is open. Returns false when
    /// the adapter already has `maxConnections`, or a deactivation has closed its listeners:
    /// the transport then closes the connection.
    @discardableResult
    public func register(_ connection: any Connection) -> Bool {
        register(connection, consumingOpening: false)
    }

    /// As `register(_:)`, for a connection that held one of the openings (`reserveOpening`):
    /// the opening becomes the connection in the same step, whatever the outcome.
    package func register(_ connection: any Connection, consumingOpening: Bool) -> Bool {
        state.withLockedValue { state in
            if consumingOpening { state.openings -= 1 }
            // (Refused before validation: the client tries elsewhere, nothing sent. A deactivating
            // adapter validated it, then closed it, unawaited, and a client connecting while the
            // adapter unregistered got close-connection where Ice serves it.)
            if state.stoppedAccepting { return false }
            if maxConnections > 0, state.connections.count + state.openings >= maxConnections { return false }
            state.connections[ObjectIdentifier(connection)] = connection
            return true
        }
    }

    /// Counts an accepted connection that is not open yet (a ws or wss connection before its
    /// upgrade) against `maxConnections`, so that connections which never upgrade cannot exceed
    /// it. False when the adapter is full or gone: the transport then closes the connection. A
    /// true result must be followed by one `releaseOpening()`, or by `register(_:consumingOpening:)`.
    package func reserveOpening() -> Bool {
        state.withLockedValue { state in
            if state.stoppedAccepting { return false }
            if maxConnections > 0, state.connections.count + state.openings >= maxConnections { return false }
            state.openings += 1
            return true
        }
    }

    package func releaseOpening() {
        state.withLockedValue { $0.openings -= 1 }
    }

    /// Whether a refused connection should be logged now: at most once per 10 s, so a flood of
    /// connections does not become a flood of log lines.
    public func shouldReportRefusal() -> Bool {
        let now = ContinuousClock.now
        return state.withLockedValue { state in
            if let last = state.lastRefusalReport, now - last < .seconds(10) { return false }
            state.lastRefusalReport = now
            return true
        }
    }

    public func unregister(_ connection: any Connection) {
        _ = state.withLockedValue { $0.connections.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// Whether this adapter serves the object a proxy designates: one naming this adapter's id,
    /// or its endpoints and a servant (or default servant) for its identity, or, without
    /// endpoints or id, a servant of its very identity.
    func isCollocated(with data: ProxyData) -> Bool {
        state.withLockedValue { state in
            guard !state.destroyed else { return false }
            // An indirect proxy is collocated when it names this adapter (or its group).
            if !data.adapterId.isEmpty {
                return data.adapterId == adapterId || (!replicaGroupId.isEmpty && data.adapterId == replicaGroupId)
            }
            // A direct proxy is collocated only if it names one of this adapter's endpoints.
            if !data.endpoints.isEmpty {
                let mine = Set(
                    state.acceptors.flatMap { [$0.endpoint] + $0.publishedEndpoints }.map { "\($0.host):\($0.port)" })
                let named = data.endpoints.contains { endpoint in
                    guard case .ip(let ip) = endpoint else { return false }
                    return mine.contains("\(ip.host):\(ip.port)")
                }
                guard named else { return false }
            }
            // A well-known proxy: only a servant of its identity makes it this adapter's, as in
            // Ice. A default servant or servant locator would take any identity, including an
            // object the locator knows on another server.
            if data.endpoints.isEmpty { return state.servants[data.identity] != nil }
            let category = data.identity.category
            return state.servants[data.identity] != nil || state.defaultServants[category] != nil
                || state.defaultServants[""] != nil || state.locators[category] != nil || state.locators[""] != nil
        }
    }
}
