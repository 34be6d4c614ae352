import FloeCore
import FloeEncoding
import FloeProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@_spi(Testing) @testable import FloeNIO

/// A request started after the peer's close-connection, while the channel is still open (over
/// ssl it stays open until the TLS shutdown ends), is refused as not sent: written, it failed
/// with the channel and counted as sent, so a non-idempotent call was not retried.
@Suite("The closing window", .timeLimit(.minutes(1)))
struct ClosingWindowTests {
    @Test func aRequestAfterThePeersCloseConnectionIsNotSent() async throws {
        let communicator = Communicator()
        try Self.exchange(communicator: communicator)
        await communicator.destroy()
    }

    /// (Synchronous: an embedded channel belongs to one thread.)
    private static func exchange(communicator: Communicator) throws {
        let heldClose = HeldClose()
        let (channel, handler, empty) = try embeddedClient(
            communicator, label: "closing-window-test", before: [heldClose])
        let header = RequestHeader(identity: Identity(name: "p"), operation: "op")

        let first = channel.eventLoop.makePromise(of: FloeProtocol.Reply?.self)
        _ = try handler.start(header, parameters: empty, mode: .twoway, replyTo: .promise(first))
        while try channel.readOutbound(as: ByteBuffer.self) != nil {}

        channel.pipeline.fireChannelRead(Message.validateConnection.encode())
        channel.pipeline.fireChannelRead(Message.closeConnection.encode())
        #expect(heldClose.asked, "the handler asks to close")
        #expect(channel.isActive, "the premise: the channel is still open")
        let firstError = NIOLockedValueBox<LocalError?>(nil)
        first.futureResult.whenFailure { error in firstError.withLockedValue { $0 = error as? LocalError } }
        #expect(firstError.withLockedValue { $0?.code } == .closeConnection)

        let second = channel.eventLoop.makePromise(of: FloeProtocol.Reply?.self)
        #expect {
            _ = try handler.start(header, parameters: empty, mode: .twoway, replyTo: .promise(second))
        } throws: { error in
            (error as? LocalError)?.requestNotSent == true
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing more is written")
        // A batched request is only queued, and the batch is not flushed: it stays for the next
        // connection (`keepUnsent` when the channel closes).
        #expect(throws: Never.self) {
            _ = try handler.start(header, parameters: empty, mode: .batchOneway, replyTo: nil)
        }
        _ = handler.flushBatch()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "the batch was written in the closing window")
        #expect(handler.batch.count == 1)
        second.fail(CancellationError())
        heldClose.release()
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}

/// Stands in for a TLS handler's shutdown: asked to close, the channel stays open until
/// `release`.
private final class HeldClose: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    private(set) var asked = false
    private var released = false
    private var held: [(CloseMode, EventLoopPromise<Void>?)] = []
    private var context: ChannelHandlerContext?

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        asked = true
        guard released else {
            self.context = context
            return held.append((mode, promise))
        }
        context.close(mode: mode, promise: promise)
    }

    func release() {
        released = true
        let held = self.held
        self.held = []
        for (mode, promise) in held { context?.close(mode: mode, promise: promise) }
    }
}
