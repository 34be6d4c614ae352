public import CoreMetrics

/// A communicator's connection instruments, which its transport updates (see
/// `Observability`): `floe.connections.open` (a meter), `floe.connections.opened` and
/// `floe.connections.closed` (counters), each with the dimension `side` (`client` for
/// connections this communicator made, `server` for those its adapters accepted); and
/// `floe.bytes.received` and `floe.bytes.sent`, the Ice messages' bytes (before TLS).
public final class ConnectionMetrics: Sendable {
    private struct Side: Sendable {
        let open: Meter
        let opened: Counter
        let closed: Counter

        init(_ side: String, _ factory: any MetricsFactory) {
            let dimensions = [("side", side)]
            open = Meter(label: "floe.connections.open", dimensions: dimensions, factory: factory)
            opened = Counter(label: "floe.connections.opened", dimensions: dimensions, factory: factory)
            closed = Counter(label: "floe.connections.closed", dimensions: dimensions, factory: factory)
        }
    }

    private let client: Side
    private let server: Side
    private let received: Counter
    private let sent: Counter

    public init(factory: any MetricsFactory) {
        client = Side("client", factory)
        server = Side("server", factory)
        received = Counter(label: "floe.bytes.received", factory: factory)
        sent = Counter(label: "floe.bytes.sent", factory: factory)
    }

    /// A connection was established (`incoming`: accepted by an adapter).
    public func opened(incoming: Bool) {
        let side = incoming ? server : client
        side.opened.increment()
        side.open.increment()
    }

    /// A connection that `opened` counted has closed.
    public func closed(incoming: Bool) {
        let side = incoming ? server : client
        side.closed.increment()
        side.open.decrement()
    }

    public func received(bytes: Int) { received.increment(by: bytes) }
    public func sent(bytes: Int) { sent.increment(by: bytes) }
}
