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
    /// Sends a request; waits for and returns the reply of a twoway request, nil for oneway.
    func send(_ header: RequestHeader, parameters: ByteBuffer, twoway: Bool) async throws -> Reply?
    /// Closes gracefully: waits for outstanding replies, sends close-connection.
    func close() async
    var isClosed: Bool { get }
}

/// A listening socket.
public protocol Acceptor: Sendable {
    var endpoint: IPEndpointData { get }
    func close() async
}
