import NIOConcurrencyHelpers
public import NIOCore

/// The root of a Floe runtime: creates object adapters and proxies, and carries invocations.
///
/// Until the TCP transport lands, invocations reach only objects hosted by this
/// communicator's own adapters (collocated calls), encoded exactly as on the wire.
public final class Communicator: Sendable {
    private struct State {
        var adapters: [String: ObjectAdapter] = [:]
        var destroyed = false
    }

    private let state = NIOLockedValueBox(State())
    /// Creates the class instances and user exceptions that replies and requests carry.
    public let sliceLoader: any SliceLoader
    /// How deeply class graphs may nest when decoding (`Ice.ClassGraphDepthMax`).
    public let classGraphDepthMax: Int

    public init(sliceLoader: any SliceLoader = SliceRegistry(), classGraphDepthMax: Int = 100) {
        self.sliceLoader = sliceLoader
        self.classGraphDepthMax = classGraphDepthMax
    }

    /// An adapter that dispatches requests to the servants added to it.
    public func createObjectAdapter(name: String) throws -> ObjectAdapter {
        try state.withLockedValue { state in
            guard !state.destroyed else { throw LocalError(.communicatorDestroyed, "communicator destroyed") }
            guard state.adapters[name] == nil else {
                throw LocalError(.alreadyRegistered, "an object adapter named '\(name)' already exists")
            }
            let adapter = ObjectAdapter(name: name, communicator: self)
            state.adapters[name] = adapter
            return adapter
        }
    }

    /// Destroys every adapter; later invocations fail with `communicatorDestroyed`.
    public func destroy() {
        let adapters = state.withLockedValue { state in
            state.destroyed = true
            defer { state.adapters = [:] }
            return Array(state.adapters.values)
        }
        for adapter in adapters { adapter.destroy() }
    }

    public var isDestroyed: Bool { state.withLockedValue { $0.destroyed } }

    func removeAdapter(named name: String) {
        _ = state.withLockedValue { $0.adapters.removeValue(forKey: name) }
    }

    /// The adapter of this communicator that hosts the proxy's object, if any.
    func collocatedAdapter(for reference: ProxyReference) -> ObjectAdapter? {
        let adapters = state.withLockedValue { Array($0.adapters.values) }
        return adapters.first { $0.isCollocated(with: reference.data) }
    }

    /// A proxy for `identity` with no endpoints (a well-known proxy).
    public func makeProxy(_ identity: Identity, facet: String = "") -> any ObjectPrx {
        ObjectPrxI(_reference: ProxyReference(communicator: self, data: ProxyData(identity: identity, facet: facet)))
    }

    /// The stringified form of a proxy, as ZeroC prints it.
    public func proxyToString(_ proxy: any ObjectPrx) -> String {
        ProxyStringFormatter.format(proxy._reference.data)
    }

    /// A stream for decoding data that belongs to this communicator.
    public func makeInputStream(_ buffer: ByteBuffer, encoding: EncodingVersion) -> InputStream {
        var stream = InputStream(
            buffer: buffer, encoding: encoding, sliceLoader: sliceLoader, classGraphDepthMax: classGraphDepthMax)
        stream.owner = self
        return stream
    }
}
