import FloeCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import FloeNIO

/// A connection that fails before its opener has found it still tells why.
@Suite("Connection opening", .timeLimit(.minutes(1)))
struct ConnectionOpeningTests {
    /// A server refused by TLS verification closes the connection during the handshake, which
    /// can finish before `connect` has returned: the opener must get the TLS error, not a bare
    /// "closed while opening" (seen in CI under load).
    @Test func aConnectionRefusedBeforeItsOpenerFindsItReportsTheRefusal() async throws {
        let communicator = Communicator()
        let channel = NIOAsyncTestingChannel()
        let closeReason = NIOLockedValueBox<LocalError?>(nil)
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                IceConnectionHandler(
                    communicator: communicator, adapter: nil, eventLoop: channel.eventLoop,
                    logger: Logger(label: "opening-test"), transport: .ssl, closeReason: closeReason))
        }.get()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4061))
        channel.pipeline.fireErrorCaught(TLSPeerRefused(reason: "the peer sent 7 certificates"))
        try await channel.closeFuture.get()
        do {
            _ = try await NIOConnection.of(channel, closeReason: closeReason)
            Issue.record("a closed channel gave a connection")
        } catch let error as LocalError {
            #expect(error.code == .security, "\(error)")
            #expect(error.message.contains("the peer sent 7 certificates"), "\(error)")
        }
        await communicator.destroy()
    }
}
