import FloeCore
import FloeProtocol
import Logging
import NIOCore

/// Active connection management: heartbeats, and closing idle or dead connections, checked
/// four times per half idle timeout so that load never delays a heartbeat by a whole interval.
extension IceConnectionHandler {
    func startMonitor(_ context: ChannelHandlerContext) {
        guard options.idleTimeout > 0 else { return }
        let idle = TimeAmount.seconds(Int64(options.idleTimeout))
        let tick = TimeAmount.nanoseconds(idle.nanoseconds / 8)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        lastActivity = .now()
        monitor = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            bound.value.checkIdle(idle: idle)
        }
    }

    private func checkIdle(idle: TimeAmount) {
        guard let context, context.channel.isActive else { return }
        let now = NIODeadline.now()
        if now - lastWrite >= TimeAmount.nanoseconds(idle.nanoseconds / 2) {
            // A heartbeat: validate-connection, which every Ice peer accepts at any time.
            trace("sent heartbeat")
            _ = write(context, Message.validateConnection.encode())
        }
        let close = isClient ? options.clientClose : options.serverClose
        guard now - lastActivity >= idle else { return }
        if close == .onIdleForceful {
            return fail(context, "idle for \(options.idleTimeout) s", code: .connectionTimeout)
        }
        if !pending.isEmpty, close.closesOnSilentInvocation, now - lastRead >= idle {
            return fail(context, "no data from the peer for \(options.idleTimeout) s", code: .connectionTimeout)
        }
        if close.closesWhenIdle, pending.isEmpty, dispatchCount == 0, batch.isEmpty, !closing {
            if options.traceNetwork >= 1 { logger.info("closing idle connection") }
            _ = closeGracefully()
        }
    }
}
