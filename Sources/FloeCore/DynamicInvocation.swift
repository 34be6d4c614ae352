import FloeEncoding
public import FloeProtocol
public import NIOCore

extension ObjectPrx {
    /// Invokes `operation` with parameters already encoded (Ice's `ice_invoke`): `inEncaps` is
    /// a whole encapsulation, header included. Returns whether the reply is OK (`ok`; false:
    /// `outEncaps` holds a user exception) and the reply's encapsulation, header included. A
    /// oneway proxy returns at once with `(true, empty)`. Statuses beyond a user exception are
    /// thrown as `DispatchError`, as for typed calls.
    ///
    /// For tools and bridges that do not know the types at compile time (see also `Blobject`).
    public func ice_invoke(
        operation: String, mode: OperationMode, inEncaps: ByteBuffer, context: Context? = nil
    ) async throws -> (ok: Bool, outEncaps: ByteBuffer) {
        var encapsulation = InputStream(buffer: inEncaps, encoding: .v1_0)
        guard (try? encapsulation.skipEncapsulation()) != nil, encapsulation.remaining == 0 else {
            throw LocalError(.invalidArgument, "inEncaps is not one whole encapsulation")
        }
        let requestContext = _reference.requestContext(context)
        guard
            let reply = try await _reference.sendIntercepted(
                operation: operation, mode: mode, context: requestContext, parameters: inEncaps)
        else { return (true, ByteBuffer()) }
        guard case .encapsulation(let encoding, let content) = reply.body else {
            throw DispatchError(failedReply: reply) ?? LocalError(.protocolError, "reply without a body")
        }
        var out = ByteBuffer()
        out.reserveCapacity(6 + content.readableBytes)
        out.writeInteger(Int32(6 + content.readableBytes), endianness: .little)
        out.writeInteger(encoding.major)
        out.writeInteger(encoding.minor)
        out.writeImmutableBuffer(content)
        return (reply.status == .ok, out)
    }
}

/// A servant that takes requests whole, without knowing their types (Ice's `Blobject`): it
/// gets each request's parameter encapsulation and returns the reply's. Bridges, routers and
/// dynamic tools are built on it, often with `ice_invoke` on the other side.
public protocol Blobject: Dispatcher {
    /// `inEncaps` is the request's encapsulation, header included; `ok` false says `outEncaps`
    /// holds a user exception.
    func ice_invoke(inEncaps: ByteBuffer, current: Current) async throws -> (ok: Bool, outEncaps: ByteBuffer)
}

extension Blobject {
    public func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        let (ok, outEncaps) = try await ice_invoke(inEncaps: request.parameters, current: request.current)
        // A malformed encapsulation becomes an unknown-local-exception reply (see `dispatchToReply`).
        return OutgoingResponse(replyStatus: ok ? .ok : .userException, encapsulation: outEncaps)
    }
}
