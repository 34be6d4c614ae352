import FloeCore
import FloeEncoding
import FloeProtocol
import Logging
import NIOCore

/// Active connection management: heartbeats, and closing idle or dead connections, checked
/// four times per half idle timeout so that load never delays a heartbeat by a whole interval.
extension IceConnectionHandler {
    func startMonitor(_ context: ChannelHandlerContext) {
        // Never over udp, `setACM` included: a server's channel is its endpoint, for every peer.
        guard transport != .udp else { return }
        let inactivity = isClient ? 0 : options.inactivityTimeout
        let idleTimeout = options.idleTimeout(client: isClient)
        guard idleTimeout > 0 || inactivity > 0 else { return }
        let idle = TimeAmount.seconds(Int64(idleTimeout > 0 ? idleTimeout : inactivity))
        let tick = TimeAmount.nanoseconds(
            min(idle.nanoseconds, inactivity > 0 ? TimeAmount.seconds(Int64(inactivity)).nanoseconds : .max) / 8)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        lastActivity = .now()
        monitor = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            bound.value.checkIdle(idle: idle)
        }
    }

    /// `Connection.heartbeat()`: a validate-connection message now (nothing over udp, where
    /// Ice sends none either).
    func heartbeat() throws {
        guard let context, context.channel.isActive, !closing else {
            throw LocalError(.connectionLost, "the connection is closed")
        }
        guard transport != .udp else { return }
        trace("sent heartbeat")
        _ = write(context, Message.validateConnection.encode())
    }

    /// This connection's own ACM settings (`Connection.setACM`); the check restarts with them.
    func setACM(timeout: Int?, close: ACMClose?, heartbeats: Bool?) {
        if let timeout {
            if isClient { options.clientIdleTimeout = timeout } else { options.serverIdleTimeout = timeout }
        }
        if let close {
            if isClient { options.clientClose = close } else { options.serverClose = close }
        }
        if let heartbeats {
            // (No heartbeats, no keeping alive by them: Ice's heartbeat 2 and 3 need them.)
            if isClient {
                options.clientHeartbeats = heartbeats
                options.clientKeepsAlive = options.clientKeepsAlive && heartbeats
            } else {
                options.serverHeartbeats = heartbeats
                options.serverKeepsAlive = options.serverKeepsAlive && heartbeats
            }
        }
        monitor?.cancel()
        monitor = nil
        if let context, context.channel.isActive { startMonitor(context) }
    }

    private func checkIdle(idle: TimeAmount) {
        guard let context, context.channel.isActive else { return }
        let now = NIODeadline.now()
        // Inactivity: an incoming connection nobody uses is closed, whatever a peer's heartbeats
        // say, unless this server keeps its connections (`Ice.ACM.Server.Heartbeat` 2 or 3).
        let inactivity = isClient || options.serverKeepsAlive ? 0 : options.inactivityTimeout
        if inactivity > 0, now - lastActivity >= .seconds(Int64(inactivity)), pending.isEmpty, dispatchCount == 0,
            waiting.isEmpty, batch.isEmpty, !closing
        {
            if options.traceNetwork >= 1 { logger.info("closing inactive connection") }
            _ = closeGracefully()
            return
        }
        let idleTimeout = options.idleTimeout(client: isClient)
        guard idleTimeout > 0 else { return }
        let heartbeats = isClient ? options.clientHeartbeats : options.serverHeartbeats
        if heartbeats, !sentCloseConnection, now - lastWrite >= TimeAmount.nanoseconds(idle.nanoseconds / 2) {
            // A heartbeat: validate-connection, which every Ice peer accepts at any time.
            trace("sent heartbeat")
            _ = write(context, Message.validateConnection.encode())
        }
        let close = isClient ? options.clientClose : options.serverClose
        // A peer presumed dead: calls outstanding and nothing heard from it for the idle timeout
        // since the first of them went out. (Before the activity check: this side's own sends
        // count as activity, and a hub calling a stopped client again and again must give up.)
        if !pending.isEmpty, close.closesOnSilentInvocation, isValidated, now - max(lastRead, pendingSince) >= idle {
            return fail(context, "no data from the peer for \(idleTimeout) s", code: .connectionTimeout)
        }
        // (A connection still waiting for validation is the connect timeout's business.)
        guard now - lastActivity >= idle, isValidated else { return }
        // Heartbeats 2 and 3 keep a connection: in Ice 3.7 they count as its activity.
        let keepsAlive = isClient ? options.clientKeepsAlive : options.serverKeepsAlive
        // (Requests waiting for a held adapter are no idleness: Ice's monitor skips a holding
        // connection.)
        if close == .onIdleForceful, !keepsAlive, waiting.isEmpty || adapter?.isHoldingRequests != true {
            return fail(context, "idle for \(idleTimeout) s", code: .connectionTimeout)
        }
        // A client connection nobody has used yet is idle only after twice the timeout, and
        // 10 s at least: its opener is about to send (on a loaded machine, seconds may pass
        // before it gets to run; with a 1 s timeout, closing after 2 s failed calls in the
        // tests), but one opened by `ice_getConnection` alone, or for a call that timed out
        // first, must not stay for good. One with an adapter (bidirectional) is not idle: the
        // peer reaches the adapter only through it. (A router's connections have closing off
        // altogether, `Communicator.keepAlive`.)
        let openerHadItsTurn = hasSentRequest || now - lastActivity >= max(idle + idle, .seconds(10))
        if close.closesWhenIdle, !keepsAlive, pending.isEmpty, dispatchCount == 0, waiting.isEmpty, batch.isEmpty,
            !closing,
            !isClient || (openerHadItsTurn && adapter == nil)
        {
            if options.traceNetwork >= 1 { logger.info("closing idle connection") }
            _ = closeGracefully()
        }
    }
}
