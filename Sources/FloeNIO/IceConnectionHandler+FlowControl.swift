import FloeCore
import FloeEncoding
import FloeProtocol
import Logging
import NIOCore

/// What one connection may hold in memory for a peer that sends faster than it reads, or
/// faster than its requests can be served (`Floe.Connection.MaxQueuedBytes`, both ways):
///
/// - Outgoing: the channel's write buffer. Above the bound the channel turns unwritable; no new
///   request is dispatched (its reply would only queue), callers' requests wait before they are
///   written, and if the peer reads nothing for `Floe.Connection.WriteStallTimeout` the
///   connection is closed.
/// - Incoming: requests read but not yet dispatched. Reading goes on while they fit in the
///   bound, so replies, heartbeats and close-connection keep arriving (a servant that calls back
///   over this connection gets its reply); beyond it, reading stops until they drain.
///
/// Replies of dispatches already running are always written, so the outgoing side can exceed
/// the bound by at most `Ice.Connection.MaxDispatches` replies.
extension IceConnectionHandler {
    /// Pauses or resumes reading to keep the waiting requests within the bound.
    func updateReading(_ context: ChannelHandlerContext) {
        if gracefulClose != nil, !closing, waitingCost >= options.maxQueuedBytes {
            // A close waiting for replies to this side's calls must read them: it stops taking
            // requests now (those waiting included) rather than pause reading.
            closing = true
            waiting.removeAll()
            waitingCost = 0
        }
        let pause =
            !awaitingPeerClose
            && (yielding || waitingCost >= options.maxQueuedBytes || refusalBytesPending >= options.maxQueuedBytes)
        guard pause != readPaused else { return }
        readPaused = pause
        context.channel.setOption(ChannelOptions.autoRead, value: !pause).whenFailure { _ in }
        if !pause {
            context.read()
            decodeKeptFrames(context)
        }
    }

    /// Inflated bytes after which a connection lets its event loop serve the others.
    static let inflatedPerTurn = 4 << 20

    /// Inflating is work a peer buys with a few bytes: a 90-byte bzip2 message may announce
    /// 1 MiB, some milliseconds of CPU, and one read holds hundreds of them. Past
    /// `inflatedPerTurn`, the rest of the read waits (reading paused) for a timer 100 µs away,
    /// so that the event loop first serves the other connections' reads: work queued on the
    /// loop itself (`execute`) runs before it looks at sockets again, a timer not yet due does
    /// not. Traffic that compresses as data usually does (2:1, reads of 64 KiB at most, four to
    /// a turn) never gets here; data that compresses 12:1 or more pauses 100 µs per 4 MiB
    /// inflated.
    func yieldAfterInflating(_ context: ChannelHandlerContext) {
        // (Not over udp: one channel reads every peer's datagrams, and a pause loses them.)
        guard !yielding, transport != .udp else { return }
        yielding = true
        updateReading(context)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .microseconds(100)) {
            let handler = bound.value
            handler.yielding = false
            handler.inflatedThisTurn = 0
            if let context = handler.context { handler.updateReading(context) }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            writeStall?.cancel()
            writeStall = nil
            releaseWritabilityWaiters(nil)
            startWaiting(context)
        } else if writeStall == nil, options.writeStallTimeout > 0 {
            let limit = options.writeStallTimeout
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            writeStall = context.eventLoop.scheduleTask(in: .seconds(Int64(limit))) {
                let handler = bound.value
                handler.writeStall = nil
                guard let context = handler.context, context.channel.isActive, !context.channel.isWritable else {
                    return
                }
                handler.fail(
                    context, "the peer read nothing of what this connection sent for \(limit) s",
                    code: .connectionTimeout)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func releaseWritabilityWaiters(_ error: LocalError?) {
        let waiters = writabilityWaiters
        writabilityWaiters = []
        for waiter in waiters {
            if let error { waiter.fail(error) } else { waiter.succeed() }
        }
    }

    /// A future that succeeds once the channel is writable (at once if it is). A closed channel
    /// fails it at once: the waiters were released when it closed, and one added now would wait
    /// for ever.
    func whenWritable(_ context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        guard !context.channel.isWritable else { return context.eventLoop.makeSucceededVoidFuture() }
        guard context.channel.isActive else {
            return context.eventLoop.makeFailedFuture(LocalError.notSent(.connectionLost, "the connection is closed"))
        }
        let writable = context.eventLoop.makePromise(of: Void.self)
        writabilityWaiters.append(writable)
        return writable.futureResult
    }

    /// While requests wait, checks every `Floe.Connection.DispatchStallWarning` seconds that a
    /// dispatch has started since (one starts as soon as one finishes), and says once per stall
    /// which limit holds them. A peer that does not read is `WriteStallTimeout`'s business.
    func watchForDispatchStall(_ context: ChannelHandlerContext) {
        let seconds = options.dispatchStallWarning
        guard seconds > 0 else { return }
        let startedBefore = nextDispatchSlot
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        dispatchStall = context.eventLoop.scheduleTask(in: .seconds(Int64(seconds))) {
            let handler = bound.value
            handler.dispatchStall = nil
            guard let context = handler.context, context.channel.isActive, !handler.waiting.isEmpty else {
                handler.dispatchStallReported = false
                return
            }
            // (An adapter holding requests stalls them on purpose.)
            let stalled =
                handler.nextDispatchSlot == startedBefore && context.channel.isWritable
                && handler.adapter?.isHoldingRequests != true
            if stalled, !handler.dispatchStallReported {
                handler.dispatchStallReported = true
                handler.logger.warning("\(handler.dispatchStallReason(seconds: seconds))")
            } else if !stalled {
                handler.dispatchStallReported = false
            }
            handler.watchForDispatchStall(context)
        }
    }

    private func dispatchStallReason(seconds: Int) -> String {
        guard atDispatchLimit else {
            return "no request on this connection has started for \(seconds) s: \(waiting.count) waiting, while the "
                + "communicator runs its limit of \(options.maxCommunicatorDispatches) dispatches (Floe.MaxDispatches)"
        }
        return "no dispatch on this connection has finished for \(seconds) s: \(dispatchCount) running, "
            + "\(waiting.count) waiting (Ice.Connection.MaxDispatches=\(options.maxDispatches)). If the running ones "
            + "wait for calls back over this connection, as nested callbacks do, none can finish: raise "
            + "Ice.Connection.MaxDispatches, or set it to 0"
    }
}
