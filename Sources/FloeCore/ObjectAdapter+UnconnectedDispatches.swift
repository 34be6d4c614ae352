import FloeProtocol
import NIOConcurrencyHelpers

/// Dispatches no open connection accounts for: collocated ones (Ice's direct count), and those
/// of connections that died while they ran. Deactivation removes the servants (and tells
/// servant locators) only once they have ended, as it does for the dispatches of the
/// connections it closes, and `destroy()` returns only then.
extension ObjectAdapter {
    /// Dispatches a request made in process (see `Communicator.send`).
    func dispatchCollocated(_ request: IncomingRequest) async -> Reply {
        state.withLockedValue { $0.unconnectedDispatches += 1 }
        let reply = await dispatchToReply(request)
        unconnectedDispatchEnded()
        return reply
    }

    /// Counts `dispatch`, cancelled because its connection died, until it ends: in Ice a
    /// connection is finished only once its dispatches are, and deactivation waits for that.
    package func outliveConnection(_ dispatch: Task<Void, Never>) {
        state.withLockedValue { $0.unconnectedDispatches += 1 }
        Task {
            await dispatch.value
            self.unconnectedDispatchEnded()
        }
    }

    private func unconnectedDispatchEnded() {
        let drained = state.withLockedValue { state -> [@Sendable () -> Void] in
            state.unconnectedDispatches -= 1
            guard state.unconnectedDispatches == 0 else { return [] }
            defer { state.unconnectedDrained = [] }
            return state.unconnectedDrained
        }
        for waiter in drained { waiter() }
    }

    /// Returns once no such dispatch runs, or at `deadline` (one close timeout for the whole
    /// deactivation: its graceful closes may have waited for part of it).
    func unconnectedDispatchesEnded(by deadline: ContinuousClock.Instant?) async {
        let resumed = NIOLockedValueBox(false)
        let timer = NIOLockedValueBox<Task<Void, Never>?>(nil)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resume: @Sendable () -> Void = {
                let first = resumed.withLockedValue { resumed in
                    defer { resumed = true }
                    return !resumed
                }
                if first { continuation.resume() }
            }
            let now = state.withLockedValue { state in
                guard state.unconnectedDispatches > 0 else { return true }
                state.unconnectedDrained.append(resume)
                return false
            }
            if now { return resume() }
            if let deadline {
                timer.withLockedValue {
                    $0 = Task {
                        try? await Task.sleep(until: deadline)
                        resume()
                    }
                }
            }
        }
        timer.withLockedValue { $0?.cancel() }
    }
}

extension Communicator {
    /// When a close starting now stops waiting for dispatches: after the close timeout
    /// (`Ice.Connection.CloseTimeout`; nil, never, when 0), as a connection's graceful close.
    func closeDeadline() -> ContinuousClock.Instant? {
        let limit = connectionOptions.closeTimeout
        return limit > 0 ? .now + .seconds(limit) : nil
    }
}
