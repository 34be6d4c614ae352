import FloeProtocol
import NIOConcurrencyHelpers

/// Collocated dispatches: counted, as Ice counts its direct dispatches, so that deactivation
/// removes the servants (and tells servant locators) only once they have ended, as it does
/// for the dispatches of its connections.
extension ObjectAdapter {
    /// Dispatches a request made in process (see `Communicator.send`).
    func dispatchCollocated(_ request: IncomingRequest) async -> Reply {
        state.withLockedValue { $0.collocatedDispatches += 1 }
        let reply = await dispatchToReply(request)
        let drained = state.withLockedValue { state -> [@Sendable () -> Void] in
            state.collocatedDispatches -= 1
            guard state.collocatedDispatches == 0 else { return [] }
            defer { state.collocatedDrained = [] }
            return state.collocatedDrained
        }
        for waiter in drained { waiter() }
        return reply
    }

    /// Returns once no collocated dispatch runs, or after the close timeout
    /// (`Ice.Connection.CloseTimeout`; none when 0), as a connection's graceful close waits for
    /// its dispatches.
    func collocatedDispatchesEnded() async {
        let limit = communicator.connectionOptions.closeTimeout
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
                guard state.collocatedDispatches > 0 else { return true }
                state.collocatedDrained.append(resume)
                return false
            }
            if now { return resume() }
            if limit > 0 {
                timer.withLockedValue {
                    $0 = Task {
                        try? await Task.sleep(for: .seconds(limit))
                        resume()
                    }
                }
            }
        }
        timer.withLockedValue { $0?.cancel() }
    }
}
