import FloeEncoding
import FloeProtocol
import NIOConcurrencyHelpers

/// Where a request goes: through the middleware, to its servant, once the adapter is active.
extension ObjectAdapter {
    /// Dispatches a request through the middleware to its servant; a missing object or facet
    /// becomes the matching `DispatchError`.
    public func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        try await dispatcher(for: request.current).dispatch(request)
    }

    /// Where a request goes, once the adapter is not held: the middleware pipeline, or its
    /// servant when there is no middleware.
    func dispatcher(for current: Current) async throws -> any Dispatcher {
        while true {
            if let dispatcher = try dispatcherUnlessHeld(for: current) { return dispatcher }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state in
                    guard state.held, !state.destroyed else { return true }
                    state.heldDispatches.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// As `dispatcher(for:)`, or nil while the adapter is held: one lock, nothing asynchronous,
    /// so the usual dispatch allocates no frame for it.
    func dispatcherUnlessHeld(for current: Current) throws -> (any Dispatcher)? {
        enum Step {
            case pipeline(any Dispatcher)
            case lookup(Lookup)
            case held
        }
        let step = state.withLockedValue { state -> Step in
            // A deactivated adapter answers as Ice's does: the object is gone. (Until its
            // connections close, it serves them, unless it was held.)
            if state.released || (state.destroyed && state.held) { return .lookup(.noObject) }
            if state.held { return .held }
            if let pipeline = state.pipeline { return .pipeline(pipeline) }
            return .lookup(Self.lookUp(current, in: state))
        }
        switch step {
        case .pipeline(let pipeline): return pipeline
        case .held: return nil
        case .lookup(.servant(let servant)): return servant
        case .lookup(.locator): return ServantDispatcher(adapter: self)
        case .lookup(.noObject): throw DispatchError.objectNotExist(current)
        case .lookup(.noFacet): throw DispatchError.facetNotExist(current)
        }
    }

    /// What serves a request, in Ice's order.
    enum Lookup {
        case servant(any Dispatcher)
        case locator(any ServantLocator)
        case noObject, noFacet
    }

    func lookUp(_ current: Current) -> Lookup {
        state.withLockedValue { Self.lookUp(current, in: $0) }
    }

    /// The servant registered for the identity and facet, else the default servant of the
    /// category (or of all categories), else the servant locator of the category (or of all).
    private static func lookUp(_ current: Current, in state: State) -> Lookup {
        let facets = state.servants[current.id]
        if let servant = facets?[current.facet] { return .servant(servant) }
        let category = current.id.category
        if let servant = state.defaultServants[category] ?? state.defaultServants[""] { return .servant(servant) }
        if let locator = state.locators[category] ?? state.locators[""] { return .locator(locator) }
        return facets == nil ? .noObject : .noFacet
    }
}
