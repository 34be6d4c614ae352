import FloeEncoding
import FloeProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Synchronization
import Testing

@testable import FloeCore

/// A connection that only queues batch oneway requests (each named by its context's "n") and
/// records what each flush sent. Closing it keeps the unflushed batch for the communicator.
private final class BatchConnection: Connection {
    struct Contents {
        var queued: [Request] = []
        var flushed: [[String]] = []
        var closed = false
        var onClose: [@Sendable () -> Void] = []
    }

    let communicator: Communicator
    let port: Int
    /// A batch this connection claims to have queued when `queue(_:)` is called: it closes
    /// first, leaving that batch unsent, and refuses the one offered.
    let closesOnQueue: UnsentBatch?
    private let contents = Mutex(Contents())

    init(communicator: Communicator, port: Int, closesOnQueue: UnsentBatch?) {
        self.communicator = communicator
        self.port = port
        self.closesOnQueue = closesOnQueue
    }

    var description: String { "batch connection to port \(port)" }
    var isClosed: Bool { contents.withLock { $0.closed } }
    var flushed: [[String]] { contents.withLock { $0.flushed } }
    var queuedNames: [String] { contents.withLock { $0.queued.map(Self.name) } }
    var info: ConnectionInfo {
        ConnectionInfo(
            type: "tcp", isSecure: false, incoming: false, localAddress: "127.0.0.1", localPort: 1,
            remoteAddress: "127.0.0.1", remotePort: port)
    }

    static func name(_ request: Request) -> String { request.header.context["n"] ?? "?" }

    func send(
        _ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode, compress: Bool,
        cancellation: CallCancellation?
    ) async throws -> Reply? {
        guard mode == .batchOneway else { throw LocalError(.unsupported, "this fake only queues batches") }
        try contents.withLock { contents in
            guard !contents.closed else { throw LocalError(.connectionLost, "closed") }
            contents.queued.append(
                Request(requestId: 0, header: header, encoding: .v1_1, parameters: parameters))
        }
        return nil
    }

    func flushBatchRequests() async throws {
        try contents.withLock { contents in
            guard !contents.closed else { throw LocalError(.connectionLost, "closed") }
            contents.flushed.append(contents.queued.map(Self.name))
            contents.queued = []
        }
    }

    func queue(_ batch: UnsentBatch) async -> Bool {
        if let closesOnQueue {
            contents.withLock { $0.queued = closesOnQueue.requests }
            close(notifying: true)
            return false
        }
        return contents.withLock { contents in
            guard !contents.closed else { return false }
            contents.queued = batch.requests + contents.queued
            return true
        }
    }

    func takeUnsentBatch() -> UnsentBatch? {
        contents.withLock { contents in
            defer { contents.queued = [] }
            return contents.queued.isEmpty ? nil : UnsentBatch(requests: contents.queued, compress: false)
        }
    }

    /// Closes; the close callbacks run now, or later through `notifyClosed()`.
    func close(notifying: Bool) {
        contents.withLock { $0.closed = true }
        if notifying { notifyClosed() }
    }

    func notifyClosed() {
        for callback in contents.withLock({ contents in
            defer { contents.onClose = [] }; return contents.onClose
        }) {
            callback()
        }
    }

    func onClose(_ callback: @escaping @Sendable () -> Void) {
        let now = contents.withLock { contents in
            if !contents.closed { contents.onClose.append(callback) }
            return contents.closed
        }
        if now { callback() }
    }

    func close() async { close(notifying: true) }
    func abort() async { close(notifying: true) }
    func setAdapter(_ adapter: ObjectAdapter?) async {}
    func getAdapter() async -> ObjectAdapter? { nil }
    func setACM(timeout: Int?, close: ACMClose?, heartbeats: Bool?) async {}
}

/// Connects anywhere, to `BatchConnection`s; `closingOnQueue` says which connection (by
/// order, from 0) closes when given a batch.
private final class BatchTransport: Transport {
    let closingOnQueue: [Int: UnsentBatch]
    private let made = Mutex<[BatchConnection]>([])

    init(closingOnQueue: [Int: UnsentBatch] = [:]) { self.closingOnQueue = closingOnQueue }

    var connections: [BatchConnection] { made.withLock { $0 } }

    func connect(to endpoint: IPEndpointData, communicator: Communicator) async throws -> any Connection {
        made.withLock { made in
            let connection = BatchConnection(
                communicator: communicator, port: Int(endpoint.port), closesOnQueue: closingOnQueue[made.count])
            made.append(connection)
            return connection
        }
    }

    func listen(on endpoint: IPEndpointData, adapter: ObjectAdapter) async throws -> any Acceptor {
        throw LocalError(.unsupported, "this transport listens nowhere")
    }
}

/// Lines logged, kept by `LinesLogHandler`.
private final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

private struct LinesLogHandler: LogHandler {
    let lines: Lines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) { lines.append(event.message.description) }
}

/// The batches a connection closed before its flush leaves for the next connection to the same
/// place (`Connection.takeUnsentBatch`), on the paths the network test does not take.
@Suite("Unsent batches")
struct UnsentBatchTests {
    /// A client communicator on `transport` whose warnings go to `lines`.
    private static func client(
        _ transport: BatchTransport, _ lines: Lines? = nil
    ) -> Communicator {
        guard let lines else { return Communicator(transport: transport) }
        return Communicator(
            transport: transport, logger: Logger(label: "batches") { _ in LinesLogHandler(lines: lines) })
    }

    private static func batchProxy(_ communicator: Communicator, port: Int = 1) throws -> any ObjectPrx {
        let proxy = try communicator.stringToProxy("o:tcp -h 127.0.0.1 -p \(port)")
        return try #require(proxy).ice_batchOneway()
    }

    private static func queue(_ names: [String], on proxy: any ObjectPrx) async throws {
        for name in names { try await proxy.ice_ping(context: ["n": name]) }
    }

    private static func unsent(_ names: [String]) -> UnsentBatch {
        UnsentBatch(
            requests: names.map {
                Request(
                    requestId: 0,
                    header: RequestHeader(identity: Identity(name: "o"), operation: "ice_ping", context: ["n": $0]),
                    encoding: .v1_1, parameters: ByteBuffer())
            }, compress: false)
    }

    /// A connection reports itself closed a moment before its batch is kept: a newer connection
    /// opened in that moment is already in the table. The kept batch goes on it, at the next
    /// request or flush through an open cached connection, ahead of what was queued there.
    @Test func aBatchKeptAfterTheNextConnectionOpenedGoesOnIt() async throws {
        let transport = BatchTransport()
        let communicator = Self.client(transport)
        let proxy = try Self.batchProxy(communicator)
        try await Self.queue(["a", "b"], on: proxy)
        let first = try #require(transport.connections.first)
        first.close(notifying: false)
        try await Self.queue(["c"], on: proxy)
        #expect(transport.connections.count == 2)
        first.notifyClosed()
        try await proxy.ice_flushBatchRequests()
        #expect(transport.connections.last?.flushed == [["a", "b", "c"]])
        await communicator.destroy()
    }

    /// The connection given a kept batch closes before it takes it, keeping a newer batch of its
    /// own: the batch handed back goes first, and the next connection sends both in order.
    @Test func aBatchHandedBackGoesBeforeOneKeptMeanwhile() async throws {
        let transport = BatchTransport(closingOnQueue: [1: Self.unsent(["b"])])
        let communicator = Self.client(transport)
        let proxy = try Self.batchProxy(communicator)
        try await Self.queue(["a"], on: proxy)
        try #require(transport.connections.first).close(notifying: true)
        // The second connection closes when given the batch; the flush goes to it and fails.
        await #expect(throws: LocalError.self) { try await proxy.ice_flushBatchRequests() }
        try await proxy.ice_flushBatchRequests()
        #expect(transport.connections.count == 3)
        #expect(transport.connections.last?.flushed == [["a", "b"]])
        await communicator.destroy()
    }

    /// A batch kept longer than its lifetime is dropped with a warning, not sent.
    @Test func aBatchKeptTooLongIsDroppedWithAWarning() async throws {
        let transport = BatchTransport()
        let lines = Lines()
        let communicator = Self.client(transport, lines)
        communicator.state.withLockedValue { $0.unsentBatchLifetime = .milliseconds(50) }
        let proxy = try Self.batchProxy(communicator)
        try await Self.queue(["a"], on: proxy)
        try #require(transport.connections.first).close(notifying: true)
        try await Task.sleep(for: .milliseconds(150))
        try await Self.queue(["b"], on: proxy)
        try await proxy.ice_flushBatchRequests()
        #expect(transport.connections.last?.flushed == [["b"]])
        #expect(lines.all.contains { $0.contains("1 batched requests to 127.0.0.1:1 were dropped") })
        await communicator.destroy()
    }

    /// Past the number of places, the batch kept longest is dropped with a warning; the others
    /// still go.
    @Test func pastItsPlacesTheOldestBatchIsDropped() async throws {
        let transport = BatchTransport()
        let lines = Lines()
        let communicator = Self.client(transport, lines)
        communicator.state.withLockedValue { $0.unsentBatchPlaces = 2 }
        var proxies: [any ObjectPrx] = []
        for port in 1...3 {
            let proxy = try Self.batchProxy(communicator, port: port)
            try await Self.queue(["to \(port)"], on: proxy)
            try #require(transport.connections.last).close(notifying: true)
            try await Task.sleep(for: .milliseconds(5))  // (kept at distinct times)
            proxies.append(proxy)
        }
        #expect(lines.all.contains { $0.contains("1 batched requests to 127.0.0.1:1 were dropped") })
        for proxy in proxies { try await proxy.ice_flushBatchRequests() }
        #expect(transport.connections.suffix(3).map(\.flushed) == [[[]], [["to 2"]], [["to 3"]]])
        await communicator.destroy()
    }
}
