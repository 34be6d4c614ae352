import FloeCore
import FloeNIO
import NIOConcurrencyHelpers
import Synchronization
import Testing

import typealias FloeIce.ObjectProxySeq
import protocol FloeIce.Router

/// What a Floe client asks of a router, counted by a router of our own: its client proxy names
/// the test server directly, so routed calls reach it without forwarding. (The same behaviour
/// against Glacier2 itself: `RouterInteropTests`.)
@Suite("Routers: the client side", .timeLimit(.minutes(2)))
struct RouterTests {
    actor CountingRouter: Router {
        let clientProxy: (any ObjectPrx)?
        let keepsTable: Bool?
        /// Identities it evicts when another is added.
        let evicts: [Identity: Identity]
        private(set) var clientProxyCalls = 0
        private(set) var added: [Identity] = []
        /// The context of each `getClientProxy` call.
        private(set) var contexts: [[String: String]] = []

        init(clientProxy: (any ObjectPrx)?, keepsTable: Bool?, evicts: [Identity: Identity] = [:]) {
            self.clientProxy = clientProxy
            self.keepsTable = keepsTable
            self.evicts = evicts
        }

        func getClientProxy(current: Current) async throws -> (
            returnValue: (any ObjectPrx)?, hasRoutingTable: Bool?
        ) {
            clientProxyCalls += 1
            contexts.append(current.ctx)
            try await Task.sleep(for: .milliseconds(100))  // long enough for every caller to ask
            return (clientProxy, keepsTable)
        }

        func getServerProxy(current: Current) async throws -> (any ObjectPrx)? {
            try await Task.sleep(for: .milliseconds(100))
            return clientProxy
        }

        func addProxies(proxies: ObjectProxySeq, current: Current) async throws -> ObjectProxySeq {
            try await Task.sleep(for: .milliseconds(100))
            added += proxies.compactMap { $0?.ice_getIdentity() }
            let communicator = current.adapter.communicator
            return proxies.compactMap { $0.flatMap { evicts[$0.ice_getIdentity()] } }.map { communicator.makeProxy($0) }
        }
    }

    /// A server with "tester" and "other", a router for it, and a client whose proxies go
    /// through the router.
    static func setUp(
        keepsTable: Bool?, evicts: [Identity: Identity] = [:],
        middleware: [@Sendable (any Dispatcher) -> any Dispatcher] = [], more: [String: String] = [:]
    ) async throws -> (server: Communicator, router: CountingRouter, client: Communicator, port: Int32) {
        let (server, adapter, _, port) = try await MiddlewareTests.server(middleware)
        try adapter.add(servant: TesterServant(), id: Identity(name: "other"))
        let direct = try #require(try server.stringToProxy("tester:tcp -h 127.0.0.1 -p \(port)"))
        let router = CountingRouter(clientProxy: direct, keepsTable: keepsTable, evicts: evicts)
        try adapter.add(servant: router, id: Identity(name: "router"))
        var properties = Properties()
        properties["Ice.Default.Router"] = "router:tcp -h 127.0.0.1 -p \(port)"
        for (key, value) in more { properties[key] = value }
        let client = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        return (server, router, client, port)
    }

    /// A router's proxy settings apply to the calls to it, as in Ice: `Ice.Default.Router.*`
    /// (context, invocation timeout…); so does the implicit context. (Only the router's string was kept, and the settings were reported as
    /// unknown properties; the implicit context did not go.)
    @Test func theRoutersProxySettingsApplyToTheCallsToIt() async throws {
        let (server, router, client, port) = try await Self.setUp(
            keepsTable: true,
            more: [
                "Ice.Default.Router.Context.site": "north", "Ice.Default.Router.InvocationTimeout": "30000",
                "Ice.ImplicitContext": "Shared",
            ])
        // The implicit context goes with router calls too, as with any call in Ice.
        _ = client.getImplicitContext()?.put("tenant", "7")
        #expect(
            try Properties.parse(arguments: ["--Ice.Default.Router.Context.site=x"], environment: [:]).0
                .unknownIceProperties == [])
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        #expect(try await tester.opIdempotent() == 7)
        #expect(await router.contexts == [["site": "north", "tenant": "7"]])
        let defaultRouter = try #require(client.getDefaultRouter())
        #expect(
            defaultRouter.ice_getContext() == ["site": "north"] && defaultRouter.ice_getInvocationTimeout() == 30000)
        #expect(tester.ice_getRouter()?.ice_getContext() == ["site": "north"])
        // ice_router changes the proxy it returns, not how the router is called for others.
        let other = try #require(try client.stringToProxy("router:tcp -h 127.0.0.1 -p \(port)"))
        _ = tester.ice_router(other.ice_context(["site": "south"]))
        #expect(tester.ice_getRouter()?.ice_getContext() == ["site": "north"])
        await client.destroy()
        await server.destroy()
    }

    /// A router with no endpoints fails a call at once, as in Ice (a router is not located):
    /// with a default locator, the lookup went through that very router and waited on itself.
    @Test func anIndirectRouterFailsCallsAtOnce() async throws {
        let (locatorServer, _, _, locator) = try await LocatorTests.lateLocatorServer(nullAt: [])
        var properties = Properties()
        properties["Ice.Default.Router"] = "router@Nowhere"
        properties["Ice.Default.Locator"] = locator
        let client = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p 1", type: (any TesterPrx).self)
        let (ended, result) = await endsWithin(.seconds(10)) { try await tester.ice_ping() }
        #expect(ended, "the call waited on a lookup routed through its own router")
        #expect { try result.get() } throws: { ($0 as? LocalError)?.code == .noEndpoint }
        await client.destroy()
        await locatorServer.destroy()
    }

    @Test func concurrentFirstCallsAskTheRouterOnce() async throws {
        let (server, router, client, port) = try await Self.setUp(keepsTable: true)
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        try await withThrowingTaskGroup(of: Int32.self) { group in
            for _ in 0..<100 { group.addTask { try await tester.opIdempotent() } }
            for try await answer in group { #expect(answer == 7) }
        }
        #expect(await router.clientProxyCalls == 1)
        #expect(await router.added == [Identity(name: "tester")])
        await client.destroy()
        await server.destroy()
    }

    /// An identity the router evicted is added again before its next call; a router that
    /// keeps no routing table is never asked to add one.
    @Test func evictedProxiesAreAddedAgainAndTablelessRoutersAddNone() async throws {
        let (server, router, client, port) = try await Self.setUp(
            keepsTable: nil, evicts: [Identity(name: "other"): Identity(name: "tester")])
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        let other = uncheckedCast(prx: tester.ice_identity(Identity(name: "other")), type: (any TesterPrx).self)
        try await tester.ping()
        try await other.ping()  // evicts "tester"
        try await tester.ping()
        try await tester.ping()
        #expect(await router.added.map(\.name) == ["tester", "other", "tester"])
        await client.destroy()

        let (tablelessServer, tableless, tablelessClient, tablelessPort) = try await Self.setUp(keepsTable: false)
        let untracked = try makeProxy(
            communicator: tablelessClient, proxyString: "tester:tcp -h 127.0.0.1 -p \(tablelessPort)",
            type: (any TesterPrx).self)
        try await untracked.ping()
        #expect(await tableless.added.isEmpty)
        #expect(await tableless.clientProxyCalls == 1)
        await tablelessClient.destroy()
        await tablelessServer.destroy()
        await server.destroy()
    }

    /// Middleware answering the first `opIdempotent` as Glacier2 answers a request for a proxy
    /// not in its table: ObjectNotExist for `ice_add_proxy`.
    private static func refusingTheFirstOpIdempotent() -> @Sendable (any Dispatcher) -> any Dispatcher {
        let refusals = Atomic<Int>(1)
        return { next in
            Closure(next: next) { request, next in
                let current = request.current
                guard current.operation == "opIdempotent", refusals.subtract(1, ordering: .relaxed).oldValue > 0
                else { return try await next.dispatch(request) }
                throw DispatchError(
                    status: .objectNotExist, identity: current.id, facet: current.facet, operation: "ice_add_proxy")
            }
        }
    }

    /// A router that lost a proxy from its table without saying so (Glacier2 answers such a
    /// request with ObjectNotExist for `ice_add_proxy`): the proxy is added again and the call
    /// retried, once.
    @Test func aProxyTheRouterNoLongerHasIsAddedAgain() async throws {
        let (server, router, client, port) = try await Self.setUp(
            keepsTable: true, middleware: [Self.refusingTheFirstOpIdempotent()])
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        try await tester.ping()
        #expect(try await tester.opIdempotent() == 7)
        #expect(await router.added.map(\.name) == ["tester", "tester"])
        await client.destroy()
        await server.destroy()
    }

    /// The same for an indirect proxy: the router's answer is taken for the router's, not the
    /// locator's (the proxy was not added again; the locator cache was forgotten instead).
    @Test func anIndirectProxyTheRouterNoLongerHasIsAddedAgain() async throws {
        let (server, router, client, _) = try await Self.setUp(
            keepsTable: true, middleware: [Self.refusingTheFirstOpIdempotent()])
        let tester = try makeProxy(communicator: client, proxyString: "tester@Server", type: (any TesterPrx).self)
        try await tester.ping()
        #expect(try await tester.opIdempotent() == 7)
        #expect(await router.added.map(\.name) == ["tester", "tester"])
        await client.destroy()
        await server.destroy()
    }

    /// The first request after the router's connection closed, a oneway here, adds its proxy
    /// to the new session's table before it goes. (The table was reset only once the new
    /// connection was open, after the proxy had been found already added.)
    @Test func aOnewayRequestOnANewRouterConnectionAddsItsProxyFirst() async throws {
        let (server, router, client, port) = try await Self.setUp(keepsTable: true)
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        try await tester.ping()
        await (try await tester.ice_getConnection()).close(gracefully: true)
        try await tester.ice_oneway().ping()
        #expect(await router.added.map(\.name) == ["tester", "tester"])
        await client.destroy()
        await server.destroy()
    }

    /// Two proxies of one router (their endpoints' timeouts differ, so each has its own record)
    /// share its connection: a new connection is a new session for both, and each adds its
    /// proxies again. (Only the first record found was reset: the other's proxies were taken
    /// for added, and Glacier2 would refuse their oneway requests.)
    @Test func twoProxiesOfOneRouterBothStartANewSession() async throws {
        let (server, router, client, port) = try await Self.setUp(keepsTable: true)
        let viaDefault = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        let sameRouter = try #require(try client.stringToProxy("router:tcp -h 127.0.0.1 -p \(port) -t 5000"))
        let viaOther = try makeProxy(
            communicator: client, proxyString: "other:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self
        ).ice_router(sameRouter)
        try await viaDefault.ping()
        try await viaOther.ping()
        await (try await viaDefault.ice_getConnection()).close(gracefully: true)
        try await viaDefault.ice_oneway().ping()
        try await viaOther.ice_oneway().ping()
        #expect(await router.added.map(\.name).sorted() == ["other", "other", "tester", "tester"])
        await client.destroy()
        await server.destroy()
    }

    /// A router that never answers Glacier2's `getACMTimeout` (asked to keep its session
    /// alive) does not hold routed calls: it is asked once the client endpoints are known, not
    /// before. (Every routed call waited for it; Ice's own router client asks only
    /// `getClientProxy` and `addProxies`.)
    @Test func aRouterSilentOnItsKeepAliveDoesNotHoldCalls() async throws {
        let silent: @Sendable (any Dispatcher) -> any Dispatcher = { next in
            Closure(next: next) { request, next in
                guard request.current.operation == "getACMTimeout" else { return try await next.dispatch(request) }
                try await Task.sleep(for: .seconds(60))
                return try await next.dispatch(request)
            }
        }
        let (server, router, client, port) = try await Self.setUp(keepsTable: true, middleware: [silent])
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        let (ended, result) = await endsWithin(.seconds(10)) { try await tester.ping() }
        #expect(ended, "the routed call waited for the router's keep-alive")
        #expect(throws: Never.self) { try result.get() }
        #expect(await router.added.map(\.name) == ["tester"])
        await client.destroy()
        await server.destroy()
    }

    /// One adapter per router, as in Ice, also when two are created at once.
    @Test func twoAdaptersCreatedAtOnceForOneRouterGetOne() async throws {
        let (server, _, client, _) = try await Self.setUp(keepsTable: true)
        let router = try #require(client.getDefaultRouter())
        /// nil when created, else the error.
        @Sendable func create(_ name: String) async -> (any Error)? {
            do {
                _ = try await client.createObjectAdapterWithRouter(name: name, router: router)
                return nil
            } catch {
                return error
            }
        }
        async let first = create("First")
        async let second = create("Second")
        let errors = await [first, second]
        #expect(errors.filter { $0 == nil }.count == 1)
        #expect(errors.contains { ($0 as? LocalError)?.code == .alreadyRegistered })
        await client.destroy()
        await server.destroy()
    }
}
