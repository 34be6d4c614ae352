import FloeCore
import FloeProtocol
import NIOEmbedded
import Testing

@_spi(Testing) @testable import FloeNIO

/// The hint a lost connection gives after a request over 1 MiB (see
/// `aRequestTooBigForThePeerSaysSo` for the whole path). The peer closes at the header, often
/// with the rest of the request still in this side's buffer: such a request counts as not
/// sent, and explaining the loss must not make it a request that may have been dispatched.
@Suite("The size hint of a lost connection")
struct SizeHintTests {
    @Test func aRequestNotSentKeepsItsFlagWithTheHint() {
        let promise = EmbeddedEventLoop().makePromise(of: FloeProtocol.Reply?.self)
        defer { promise.fail(CancellationError()) }
        let big = Outstanding(waiter: .promise(promise), messageSize: 2_000_000, end: 0)
        let small = Outstanding(waiter: .promise(promise), messageSize: 1 << 20, end: 0)

        let notSent = IceConnectionHandler.explained(.notSent(.connectionLost, "the peer closed"), big)
        #expect(notSent.requestNotSent)
        #expect(notSent.message.contains("2000000-byte request"), "\(notSent)")
        #expect(notSent.message.contains("Ice.MessageSizeMax"), "\(notSent)")

        let sent = IceConnectionHandler.explained(LocalError(.connectionLost, "the peer closed"), big)
        #expect(!sent.requestNotSent)
        #expect(sent.message.contains("Ice.MessageSizeMax"), "\(sent)")

        #expect(
            IceConnectionHandler.explained(LocalError(.connectionLost, "x"), small) == LocalError(.connectionLost, "x"))
        #expect(IceConnectionHandler.explained(LocalError(.timeout, "x"), big) == LocalError(.timeout, "x"))
    }
}
