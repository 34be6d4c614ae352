public import NIOCore

/// What a network transport provides to the runtime. FloeCore knows transports only through
/// this protocol; FloeNIO implements it over TCP.
public protocol Transport: Sendable {
    /// Opens a client connection and waits for the server's connection validation.
    func connect(to endpoint: IPEndpointData, communicator: Communicator) async throws -> any Connection
    /// Listens for connections whose requests `adapter` dispatches; the returned acceptor
    /// reports the endpoint actually bound (port 0 becomes a real port).
    func listen(on endpoint: IPEndpointData, adapter: ObjectAdapter) async throws -> any Acceptor
}

/// An established connection that carries requests.
public protocol Connection: Sendable {
    /// Sends a request as `mode` says: a twoway request returns its reply; a oneway request
    /// returns nil once written; a batch oneway request is queued (nil) until the batch is
    /// flushed, explicitly or when it grows past `Ice.BatchAutoFlushSize`.
    func send(_ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode) async throws -> Reply?
    /// Sends the queued batch oneway requests as one batch message.
    func flushBatchRequests() async throws
    /// Closes gracefully: waits for outstanding replies, sends close-connection.
    func close() async
    var isClosed: Bool { get }
}

/// A listening socket.
public protocol Acceptor: Sendable {
    var endpoint: IPEndpointData { get }
    func close() async
}
