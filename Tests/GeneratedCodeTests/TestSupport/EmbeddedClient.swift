import FloeCore
import FloeEncoding
import Logging
import NIOCore
import NIOEmbedded

@_spi(Testing) @testable import FloeNIO

/// A client connection's handler on an embedded channel, connected, behind `before` (handlers
/// nearer the socket), and the empty parameters of a request without any. (Synchronous: an
/// embedded channel belongs to one thread.)
func embeddedClient(
    _ communicator: Communicator, label: String, before: [any ChannelHandler] = []
) throws -> (channel: EmbeddedChannel, handler: IceConnectionHandler, noParameters: ByteBuffer) {
    let channel = EmbeddedChannel()
    let handler = IceConnectionHandler(
        communicator: communicator, adapter: nil, eventLoop: channel.eventLoop, logger: Logger(label: label))
    for other in before { try channel.pipeline.syncOperations.addHandler(other) }
    try channel.pipeline.syncOperations.addHandler(handler)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4061)).wait()
    var parameters = OutputStream(encoding: .v1_0)
    parameters.writeEmptyEncapsulation(encoding: .v1_1)
    return (channel, handler, parameters.finished())
}
