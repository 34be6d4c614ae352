import NIOConcurrencyHelpers
package import NIOCore

/// Caps the warnings peers can cause: one per failed dispatch (`Ice.Warn.Dispatch`) and one
/// per connection closed for breaking the protocol. A peer sending malformed requests as fast as
/// it can would otherwise write to the log as fast as it sends. At most `perSecond` such
/// warnings are logged each second (`Floe.Warn.PerSecond`, 20; 0 lifts the cap); the rest are
/// counted, and the count goes with the next warning logged.
package final class WarningLimiter: Sendable {
    private let perSecond: Int
    private let state = NIOLockedValueBox((windowStart: NIODeadline.uptimeNanoseconds(0), logged: 0, suppressed: 0))

    package init(perSecond: Int) { self.perSecond = perSecond }

    /// Whether a warning may be logged now, and how many were held back before it (nil: this
    /// one is held back too).
    package func admit(now: NIODeadline = .now()) -> Int? {
        guard perSecond > 0 else { return 0 }
        return state.withLockedValue { state in
            if now - state.windowStart >= .seconds(1) {
                state.windowStart = now
                state.logged = 0
            }
            guard state.logged < perSecond else {
                state.suppressed += 1
                return nil
            }
            state.logged += 1
            defer { state.suppressed = 0 }
            return state.suppressed
        }
    }

    /// `message`, with the count of warnings held back before it when there were any.
    package static func message(_ message: String, afterSuppressing count: Int) -> String {
        count == 0 ? message : "\(message) (\(count) similar warnings were not logged: Floe.Warn.PerSecond)"
    }
}
