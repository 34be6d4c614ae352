import FloeEncoding
import FloeNIO
import FloeProtocol
import Logging
import NIOConcurrencyHelpers
import Testing

@testable import FloeCore

/// Dispatch middleware (`ObjectAdapter.use`), client interceptors, the shipped logging and
/// deadline middleware, and servant locators, over TCP on 127.0.0.1 (issue 15).
@Suite("Middleware and interceptors", .timeLimit(.minutes(2)))
struct MiddlewareTests {
    /// A server whose adapter runs `middleware` (in order) before its Tester servant.
    static func server(_ middleware: [@Sendable (any Dispatcher) -> any Dispatcher]) async throws
        -> (Communicator, ObjectAdapter, TesterServant, Int32)
    {
        let communicator = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let adapter = try await communicator.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        for wrap in middleware { try adapter.use(wrap) }
        let servant = TesterServant()
        try adapter.add(servant: servant, id: Identity(name: "tester"))
        try await adapter.activate()
        return (communicator, adapter, servant, adapter.endpoints.first?.port ?? 0)
    }

    static func client(_ port: Int32, name: String = "tester", interceptors: [any ClientInterceptor] = []) throws
        -> (Communicator, any TesterPrx)
    {
        let communicator = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), retryIntervals: [],
            interceptors: interceptors)
        let proxy = try makeProxy(
            communicator: communicator, proxyString: "\(name):tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        return (communicator, proxy)
    }

    @Test func middlewareRunsInOrderAroundTheServant() async throws {
        let trail = Trail()
        let (server, _, _, port) = try await Self.server([
            { Recording(next: $0, name: "outer", trail: trail) }, { Recording(next: $0, name: "inner", trail: trail) },
        ])
        let (client, tester) = try Self.client(port)
        #expect(try await tester.opIdempotent() == 7)
        #expect(trail.entries == ["outer in opIdempotent", "inner in opIdempotent", "inner out ok", "outer out ok"])
        await client.destroy()
        await server.destroy()
    }

    @Test func middlewareEditsTheContextAndRejectsRequests() async throws {
        let (server, _, servant, port) = try await Self.server([
            { next in
                Closure(next: next) { request, next in
                    var request = request
                    request.current.ctx["tenant"] = "acme"
                    if request.current.ctx["token"] == "bad" {
                        throw BaseError(reason: "rejected by middleware")
                    }
                    return try await next.dispatch(request)
                }
            }
        ])
        let (client, tester) = try Self.client(port)
        #expect(try await tester.opContext("tenant") == "acme")
        do {
            // (opThrow declares BaseError: an undeclared one would reach the caller as unknown.)
            try await tester.opThrow(0, context: ["token": "bad"])
            Issue.record("the request was not rejected")
        } catch let error as BaseError {
            #expect(error.reason == "rejected by middleware")
        }
        // ping declares nothing: the rejection arrives as an unknown user exception.
        await #expect(throws: DispatchError.self) { try await tester.ping(context: ["token": "bad"]) }
        #expect(await servant.pings == 0, "a rejected request reached the servant")
        await client.destroy()
        await server.destroy()
    }

    /// Middleware sees requests for objects the adapter does not have, and their outcome.
    @Test func middlewareSeesRequestsForUnknownObjects() async throws {
        let trail = Trail()
        let (server, _, _, port) = try await Self.server([{ Recording(next: $0, name: "m", trail: trail) }])
        let (client, missing) = try Self.client(port, name: "missing")
        await #expect(throws: DispatchError.self) { try await missing.ice_ping() }
        #expect(trail.entries == ["m in ice_ping", "m out objectNotExist"])
        await client.destroy()
        await server.destroy()
    }

    @Test func middlewareIsInstalledBeforeActivation() async throws {
        let (server, adapter, _, _) = try await Self.server([])
        #expect(throws: LocalError.self) { try adapter.use { $0 } }
        await server.destroy()
    }

    @Test func interceptorsRunInOrderEditTheContextAndObserveOutcomes() async throws {
        let (server, _, servant, port) = try await Self.server([])
        let trail = Trail()
        let (client, tester) = try Self.client(
            port,
            interceptors: [
                Intercepting(name: "first", trail: trail), Intercepting(name: "second", trail: trail, key: "region"),
            ])
        let local = tester.ice_interceptors([Intercepting(name: "proxy", trail: trail, key: "zone")])
        #expect(try await local.opContext("zone") == "proxy")
        #expect(try await local.opContext("region") == "second")
        #expect(
            trail.entries.prefix(3) == ["first out opContext", "second out opContext", "proxy out opContext"]
                && trail.entries[3...5] == ["proxy back ok", "second back ok", "first back ok"])
        trail.clear()
        await #expect(throws: BaseError.self) { try await tester.opThrow(1) }
        #expect(trail.entries.last == "first back userException")
        trail.clear()
        // An interceptor that throws fails the call before anything is sent.
        let refusing = tester.ice_interceptors([Refusing()])
        await #expect(throws: RefusedError.self) { try await refusing.ping() }
        #expect(await servant.pings == 0)
        await client.destroy()
        await server.destroy()
    }

    /// The client's invocation timeout travels in the context (rounded up to milliseconds).
    @Test func theDeadlineInterceptorSendsTheInvocationTimeout() async throws {
        let (server, _, _, port) = try await Self.server([])
        let (client, tester) = try Self.client(port, interceptors: [DeadlineInterceptor()])
        let bounded = tester.ice_invocationTimeout(.milliseconds(45_000.5))
        #expect(try await bounded.opContext(Deadline.contextKey) == "45001")
        #expect(try await tester.opContext(Deadline.contextKey) == "", "a call without a timeout sent one")
        await client.destroy()
        await server.destroy()
    }

    /// The server cancels a dispatch once the time its context allows has passed: the servant
    /// sees the cancellation and the caller an error, well before the servant's 30 s. (The
    /// entry is written here by hand, so no client timer races the server's.)
    @Test func theDeadlineMiddlewareCancelsASlowDispatch() async throws {
        let (server, _, servant, port) = try await Self.server([{ DeadlineMiddleware(next: $0) }])
        let (client, tester) = try Self.client(port)
        let started = ContinuousClock.now
        await #expect(throws: DispatchError.self) {
            try await tester.ping(context: ["sleep": "30", Deadline.contextKey: "300"])
        }
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(await eventually { await servant.cancelledPings == 1 }, "the servant was not cancelled")
        #expect(await servant.runningPings == 0)
        // Without the entry, nothing is cancelled.
        try await tester.ping(context: ["sleep": "0.4"])
        #expect(await servant.cancelledPings == 1)
        await client.destroy()
        await server.destroy()
    }

    @Test func theLoggingMiddlewareLogsEachDispatchOnce() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "dispatch") { _ in CapturingLogHandler(lines: lines) }
        let (server, _, _, port) = try await Self.server([{ LoggingMiddleware(next: $0, logger: logger) }])
        let (client, tester) = try Self.client(port)
        #expect(try await tester.opIdempotent() == 7)
        await #expect(throws: BaseError.self) { try await tester.opThrow(1) }
        let logged = lines.withLockedValue { $0 }
        #expect(logged.count == 2, "\(logged)")
        #expect(logged.first == "dispatch opIdempotent on tester: ok")
        #expect(logged.last == "dispatch opThrow on tester: user exception ::Vectors::DerivedError")
        await client.destroy()
        await server.destroy()
    }
}

/// Servant locators: asked for identities without servants, told when each dispatch ends.
@Suite("Servant locators", .timeLimit(.minutes(2)))
struct ServantLocatorTests {
    @Test func aLocatorServesACategoryAndIsToldWhenDispatchesEnd() async throws {
        let (server, adapter, registered, port) = try await MiddlewareTests.server([])
        let locator = RowLocator()
        try adapter.addServantLocator(locator, category: "rows")
        #expect(throws: LocalError.self) { try adapter.addServantLocator(locator, category: "rows") }
        let (client, tester) = try MiddlewareTests.client(port)
        let row = tester.ice_identity(Identity(name: "7", category: "rows"))
        try await row.ice_ping()
        #expect(await locator.located == ["7"] && locator.finishedCookies == ["cookie-7"])
        // A registered servant comes first; an unknown category finds no locator.
        try await tester.ice_ping()
        #expect(await registered.pings == 0 && locator.finishedCookies.count == 1)
        await #expect(throws: DispatchError.self) {
            try await tester.ice_identity(Identity(name: "7", category: "other")).ice_ping()
        }
        // nil from locate is ObjectNotExist; an error it throws reaches the client.
        await #expect(throws: DispatchError.self) {
            try await tester.ice_identity(Identity(name: "none", category: "rows")).ice_ping()
        }
        let locked = uncheckedCast(
            prx: tester.ice_identity(Identity(name: "locked", category: "rows")), type: (any TesterPrx).self)
        do {
            try await locked.opThrow(0)
            Issue.record("locate did not fail the request")
        } catch let error as BaseError {
            #expect(error.reason == "row is locked")
        }
        await adapter.destroy()
        #expect(locator.deactivated == ["rows"])
        await client.destroy()
        await server.destroy()
    }
}

extension ServantLocatorTests {
    /// As in Ice: nil from `locate` for an identity served under other facets is
    /// FacetNotExist; a servant's DispatchError without a target gets the request's; and one
    /// with a status that is no failure becomes UnknownLocalException (it made a malformed reply).
    @Test func failuresNameWhatWasAskedFor() async throws {
        let (server, adapter, _, port) = try await MiddlewareTests.server([])
        try adapter.addServantLocator(RowLocator(), category: "rows")
        try adapter.addFacet(servant: TesterServant(), id: Identity(name: "none", category: "rows"), facet: "other")
        try adapter.addDefaultServant(NamelessFailure(), category: "gone")
        let (client, tester) = try MiddlewareTests.client(port)
        do {
            try await tester.ice_identity(Identity(name: "none", category: "rows")).ice_ping()
            Issue.record("the ping succeeded")
        } catch let error as DispatchError {
            #expect(error.status == .facetNotExist)
        }
        let gone = Identity(name: "x", category: "gone")
        do {
            try await tester.ice_identity(gone).ice_ping()
            Issue.record("the ping succeeded")
        } catch let error as DispatchError {
            #expect(error.status == .objectNotExist && error.identity == gone && error.operation == "ice_ping")
        }
        do {
            try await tester.ice_identity(Identity(name: "ok", category: "gone")).ice_ping()
            Issue.record("the ping succeeded")
        } catch let error as DispatchError {
            #expect(error.status == .unknownLocalException, "\(error)")
        }
        await client.destroy()
        await server.destroy()
    }
}

extension ServantLocatorTests {
    /// Deactivation waits for collocated dispatches, as for its connections' (Ice's direct
    /// count): the servant locator hears `finished`, then `deactivate`. (It was deactivated
    /// while the collocated dispatch still ran.)
    @Test func deactivationWaitsForCollocatedDispatches() async throws {
        let communicator = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let adapter = try await communicator.createObjectAdapterWithEndpoints(
            name: "Rows", endpoints: "tcp -h 127.0.0.1 -p 0")
        let trail = Trail()
        try adapter.addServantLocator(TrailLocator(trail: trail), category: "rows")
        try await adapter.activate()
        let row = uncheckedCast(
            prx: adapter.createProxy(Identity(name: "1", category: "rows")), type: (any TesterPrx).self)
        let call = Task { try await row.ping(context: ["sleep": "0.3"]) }
        #expect(await eventually { trail.entries == ["located"] })
        await adapter.destroy()
        try await call.value
        #expect(trail.entries == ["located", "finished", "deactivated"])
        await communicator.destroy()
    }
}

/// Serves every identity with a new TesterServant, and says so in `trail`.
private struct TrailLocator: ServantLocator {
    let trail: Trail

    func locate(_ current: Current) async throws -> (servant: (any Dispatcher)?, cookie: (any Sendable)?) {
        trail.add("located")
        return (TesterServant(), nil)
    }

    func finished(_ current: Current, servant: any Dispatcher, cookie: (any Sendable)?) async throws {
        trail.add("finished")
    }

    func deactivate(category: String) async { trail.add("deactivated") }
}

/// Throws a DispatchError naming nothing: status ok for the identity "ok", else object-not-exist.
private struct NamelessFailure: Dispatcher {
    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        throw DispatchError(status: request.current.id.name == "ok" ? .ok : .objectNotExist)
    }
}

// MARK: - Helpers (at file scope: Swift Testing suites cannot nest these types)

final class Trail: Sendable {
    private let box = NIOLockedValueBox<[String]>([])
    var entries: [String] { box.withLockedValue { $0 } }
    func add(_ entry: String) { box.withLockedValue { $0.append(entry) } }
    func clear() { box.withLockedValue { $0 = [] } }
}

struct Recording: Dispatcher {
    let next: any Dispatcher
    let name: String
    let trail: Trail

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        trail.add("\(name) in \(request.current.operation)")
        do {
            let response = try await next.dispatch(request)
            trail.add("\(name) out \(response.replyStatus == .ok ? "ok" : "userException")")
            return response
        } catch let error as DispatchError {
            trail.add("\(name) out \(error.status)")
            throw error
        }
    }
}

struct Closure: Dispatcher {
    let next: any Dispatcher
    let body: @Sendable (IncomingRequest, any Dispatcher) async throws -> OutgoingResponse

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse { try await body(request, next) }
}

struct Intercepting: ClientInterceptor {
    let name: String
    let trail: Trail
    var key: String?

    func intercept(_ request: OutgoingRequest, next: Next) async throws -> IncomingResponse {
        trail.add("\(name) out \(request.operation)")
        var request = request
        if let key { request.context[key] = name }
        let response = try await next(request)
        trail.add("\(name) back \(response.replyStatus == .ok ? "ok" : "userException")")
        return response
    }
}

struct RefusedError: Error {}

struct Refusing: ClientInterceptor {
    func intercept(_ request: OutgoingRequest, next: Next) async throws -> IncomingResponse { throw RefusedError() }
}

final class RowLocator: ServantLocator {
    private let state = NIOLockedValueBox<(cookies: [String], deactivated: [String])>(([], []))
    private let servants = RowServants()
    var finishedCookies: [String] { state.withLockedValue { $0.cookies } }
    var deactivated: [String] { state.withLockedValue { $0.deactivated } }
    var located: [String] { get async { await servants.located } }

    func locate(_ current: Current) async throws -> (servant: (any Dispatcher)?, cookie: (any Sendable)?) {
        switch current.id.name {
        case "none": return (nil, nil)
        case "locked": throw BaseError(reason: "row is locked")
        default:
            await servants.record(current.id.name)
            return (TesterServant(), "cookie-\(current.id.name)")
        }
    }

    func finished(_ current: Current, servant: any Dispatcher, cookie: (any Sendable)?) async throws {
        state.withLockedValue { $0.cookies.append(cookie as? String ?? "?") }
    }

    func deactivate(category: String) async { state.withLockedValue { $0.deactivated.append(category) } }
}

actor RowServants {
    private(set) var located: [String] = []
    func record(_ name: String) { located.append(name) }
}
