import NIOConcurrencyHelpers

/// Every open connection of a communicator, incoming and outgoing, for
/// `Communicator.abortConnections()`: graceful closes wait for running dispatches however long
/// they take, and a cancelled service must be able to stop them all.
package final class LiveConnections: Sendable {
    private struct State {
        var connections: [ObjectIdentifier: any Connection] = [:]
        var aborting = false
    }

    private let state = NIOLockedValueBox(State())

    /// Adds an opened connection; false for an incoming one once the communicator aborts its
    /// connections: the transport then closes it. (Outgoing ones are let through: an adapter
    /// still unregistering from its locator needs one.)
    package func add(_ connection: any Connection, incoming: Bool) -> Bool {
        state.withLockedValue { state in
            guard !state.aborting || !incoming else { return false }
            state.connections[ObjectIdentifier(connection)] = connection
            return true
        }
    }

    package func remove(_ connection: any Connection) {
        _ = state.withLockedValue { $0.connections.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// The open connections, for aborting; from now on no incoming connection is added.
    func startAborting() -> [any Connection] {
        state.withLockedValue { state in
            state.aborting = true
            return Array(state.connections.values)
        }
    }
}

extension Communicator {
    /// Closes every connection at once, Ice's forceful close, cancelling their running
    /// dispatches (their callers see the connection lost); an incoming connection accepted later
    /// is closed as it opens (outgoing ones are let through, for an adapter's unregistration). What a cancelled `run()` does (swift-service-lifecycle's escalation after
    /// its graceful-shutdown limit): graceful closes wait for running dispatches however long
    /// they take, as in Ice.
    public func abortConnections() async {
        let connections = liveConnections.startAborting()
        await withTaskGroup(of: Void.self) { group in
            for connection in connections { group.addTask { await connection.abort() } }
        }
    }
}
