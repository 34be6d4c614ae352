import Dispatch
import FloeCore
import FloeEncoding
@_spi(Testing) import FloeNIO
import FloeProtocol
import FoundationEssentials  // (ProcessInfo; all of Foundation would make InputStream ambiguous)
import Logging
import NIOCore
import NIOEmbedded

// libFuzzer entry point: the input is the byte stream a client sends to a Floe server
// connection, fed to the connection's real handler through a testing channel. Any input must
// end with the connection answering or closing it; a trap, a hang or a huge allocation is a bug.
// With FLOE_FUZZ_SIDE=client the input is what a server sends to a Floe client connection
// instead, while four twoway calls wait for their replies and an adapter serves the server's
// requests back (bidirectional): every call must end.

/// Answers every operation by decoding its parameters as something (chosen by the operation
/// name's length) and returning them: decoding, dispatch and replies all take part.
struct FuzzServant: Dispatcher {
    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        var stream = request.current.adapter.communicator.makeInputStream(
            request.parameters, encoding: request.current.encoding)
        _ = try stream.startEncapsulation()
        var results = OutputStream(encoding: .v1_1)
        results.startEncapsulation(encoding: .v1_1, format: .sliced)
        switch request.current.operation.utf8.count % 4 {
        case 0: results.write(try stream.readValue())
        case 1: try [String](from: &stream).encode(to: &results)
        case 2: results.write(try stream.read(ProxyData.self))
        default: _ = try stream.readUserException()
        }
        try stream.endEncapsulation()
        results.endEncapsulation()
        return OutgoingResponse(replyStatus: .ok, outputStream: results)
    }
}

final class FuzzNode: Value {
    var next: FuzzNode?
    override class func ice_staticId() -> String { "::Fuzz::Node" }
    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: FuzzNode.ice_staticId(), last: true)
        stream.write(next)
        stream.endSlice()
    }
    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        next = try stream.read(FuzzNode.self)
        try stream.endSlice()
    }
}

let adapter: ObjectAdapter = {
    var registry = SliceRegistry()
    registry.register(FuzzNode.self)
    var options = ConnectionOptions()
    options.maxDispatches = 4
    options.maxQueuedBytes = 256 * 1024
    let communicator = Communicator(
        sliceLoader: registry, messageSizeMax: 64 * 1024, classGraphDepthMax: 50, connectionOptions: options)
    // (A global's initializer cannot await: the adapter is made on a task while libFuzzer's
    // thread waits, and the semaphore orders the task's write before the read here.)
    final class Made: @unchecked Sendable { var adapter: ObjectAdapter? }
    let made = Made()
    let ready = DispatchSemaphore(value: 0)
    Task {
        if let adapter = try? await communicator.createObjectAdapter(name: "Fuzz"),
            (try? adapter.add(servant: FuzzServant(), id: Identity(name: "fuzz"))) != nil,
            (try? await adapter.activate()) != nil
        {
            made.adapter = adapter
        }
        ready.signal()
    }
    ready.wait()
    guard let adapter = made.adapter else { fatalError("cannot set up the fuzzing adapter") }
    return adapter
}()

/// Quiet: every malformed input is logged as a warning otherwise.
let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }

/// `bytes` into `channel` in pieces, as a socket delivers them; then lets running dispatches
/// reply, drains what was written and closes the channel.
func deliver(_ bytes: [UInt8], to channel: NIOAsyncTestingChannel) async throws {
    var offset = 0
    var piece = 1
    while offset < bytes.count, channel.isActive {
        let end = min(bytes.count, offset + piece)
        try await channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
        offset = end
        piece = piece * 3 + 7
    }
    for _ in 0..<20 {
        await Task.yield()
        while try await channel.readOutbound(as: ByteBuffer.self) != nil {}
    }
    _ = try? await channel.finish()
}

let clientSide = ProcessInfo.processInfo.environment["FLOE_FUZZ_SIDE"] == "client"

/// A client connection of the adapter's communicator fed `bytes` as its server's output.
func feedClient(_ bytes: [UInt8]) async {
    let channel = NIOAsyncTestingChannel()
    do {
        let connection = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                NIOTransport.clientConnectionHandler(
                    communicator: adapter.communicator, eventLoop: channel.eventLoop, logger: logger))
            return try NIOTransport.connection(in: channel)
        }.get()
        guard let connection else { fatalError("no connection in the pipeline") }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4061))
        await connection.setAdapter(adapter)
        // Validated first, so that the calls are waiting, as requests 1 to 4, before any of
        // the input arrives: its replies then find them. (A second validate-connection in the
        // input is a heartbeat.)
        try await channel.writeInbound(Message.validateConnection.encode())
        let emptyParameters = ByteBuffer(bytes: [6, 0, 0, 0, 1, 1])
        let calls = Task {
            await withTaskGroup(of: Void.self) { group in
                for operation in ["a", "bb", "ccc", "dddd"] {
                    group.addTask {
                        let header = RequestHeader(
                            identity: Identity(name: "fuzz"), facet: "", operation: operation, mode: .normal,
                            context: [:])
                        if let reply = try? await connection.send(header, parameters: emptyParameters, mode: .twoway) {
                            decode(reply, of: operation)
                        }
                    }
                }
            }
        }
        for _ in 0..<1000 {
            if try await channel.eventLoop.submit({ try NIOTransport.outstandingCalls(in: channel) }).get() == 4 {
                break
            }
            await Task.yield()
        }
        try await deliver(bytes, to: channel)
        await calls.value
    } catch {
        _ = try? await channel.finish()
    }
}

/// Decodes a reply's results as `FuzzServant` decodes parameters (by the operation name's
/// length), or its user exception: the client's reading of hostile replies takes part.
func decode(_ reply: Reply, of operation: String) {
    guard case .encapsulation(let encoding, let content) = reply.body else { return }
    var stream = adapter.communicator.makeInputStream(content, encoding: encoding)
    if reply.status != .ok {
        _ = try? stream.readUserException()
        return
    }
    switch operation.utf8.count % 4 {
    case 0: _ = try? stream.readValue()
    case 1: _ = try? [String](from: &stream)
    case 2: _ = try? stream.read(ProxyData.self)
    default: _ = try? stream.readUserException()
    }
}

func feed(_ bytes: [UInt8]) async {
    if clientSide { return await feedClient(bytes) }
    let channel = NIOAsyncTestingChannel()
    do {
        try await channel.eventLoop.submit {
            let handler = NIOTransport.serverConnectionHandler(
                adapter: adapter, eventLoop: channel.eventLoop, logger: logger)
            try channel.pipeline.syncOperations.addHandler(handler)
        }.get()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4061))
        try await deliver(bytes, to: channel)
    } catch {
        _ = try? await channel.finish()
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let done = DispatchSemaphore(value: 0)
    Task {
        await feed(bytes)
        done.signal()
    }
    done.wait()
    return 0
}
