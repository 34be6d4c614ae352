import FloeEncoding
import FloeProtocol

/// Finds servants on demand, for a category of identities (Ice's servant locators): an adapter
/// asks it for a servant when it has none registered (nor a default servant) for a request's
/// identity, and tells it when the dispatch has ended.
///
/// A locator serves objects that live elsewhere (rows of a database, files) without one servant
/// per object in memory; `cookie` carries what `finished` needs (a transaction, a lease).
public protocol ServantLocator: Sendable {
    /// The servant for this request, or nil: the request then fails with `ObjectNotExist`.
    /// Throwing fails the request with that error (a user exception reaches the client).
    func locate(_ current: Current) async throws -> (servant: (any Dispatcher)?, cookie: (any Sendable)?)
    /// Called once the servant `locate` returned has dispatched the request, whatever the
    /// outcome. An error thrown here replaces the dispatch's outcome.
    func finished(_ current: Current, servant: any Dispatcher, cookie: (any Sendable)?) async throws
    /// Called when the adapter is deactivated (not when the locator is removed).
    func deactivate(category: String) async
}

extension ServantLocator {
    public func finished(_ current: Current, servant: any Dispatcher, cookie: (any Sendable)?) async throws {}
    public func deactivate(category: String) async {}
}

/// The end of an adapter's dispatch pipeline: finds the request's servant (registered, default,
/// then through a servant locator, in Ice's order) and dispatches to it. Middleware wraps it.
struct ServantDispatcher: Dispatcher {
    /// Unowned: the adapter owns its pipeline, which ends here; the adapter outlives every
    /// dispatch through it.
    unowned let adapter: ObjectAdapter

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        let current = request.current
        switch adapter.lookUp(current) {
        case .servant(let servant):
            return try await servant.dispatch(request)
        case .locator(let locator):
            let (found, cookie) = try await locator.locate(current)
            guard let servant = found else {
                // As in Ice: the identity served under other facets lacks this one.
                throw adapter.hasServant(current.id)
                    ? DispatchError.facetNotExist(current) : DispatchError.objectNotExist(current)
            }
            let response: OutgoingResponse
            do {
                response = try await servant.dispatch(request)
            } catch {
                try await locator.finished(current, servant: servant, cookie: cookie)
                throw error
            }
            try await locator.finished(current, servant: servant, cookie: cookie)
            return response
        case .noObject:
            throw DispatchError.objectNotExist(current)
        case .noFacet:
            throw DispatchError.facetNotExist(current)
        }
    }
}
