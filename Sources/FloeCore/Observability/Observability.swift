public import CoreMetrics
import Logging
public import Tracing

/// Where a communicator reports metrics and spans; nil turns each off.
///
/// `Floe.Metrics=1` and `Floe.Tracing=1` turn them on with the process's bootstrapped
/// backends (`MetricsSystem.factory`, `InstrumentationSystem.tracer`); an application can also
/// pass its own. With metrics, invocations and dispatches are timed where they are sent and
/// answered (see `CallMetrics`) and the transport counts connections and bytes
/// (`ConnectionMetrics`); with a tracer, every invocation goes through a
/// `TracingInterceptor` and every dispatch through a `TracingMiddleware` (outermost, before the
/// adapter's own middleware).
public struct Observability: Sendable {
    /// Call, dispatch and connection metrics (see `CallMetrics` and `ConnectionMetrics`).
    public var metrics: (any MetricsFactory)?
    /// Client and server spans, with trace context carried in the request context.
    public private(set) var tracer: (any Tracer)?

    /// A `NoOpTracer` (what `InstrumentationSystem.tracer` is until a tracer is bootstrapped)
    /// counts as none: its spans would record nothing, and starting them costs 30–40% of
    /// pipelined calls (Docs/benchmark.md, "Observability").
    public init(metrics: (any MetricsFactory)? = nil, tracer: (any Tracer)? = nil) {
        self.metrics = metrics
        self.tracer = tracer is NoOpTracer ? nil : tracer
    }

    /// Neither metrics nor spans.
    public static let off = Observability()

    /// Says so when `Floe.Metrics` or `Floe.Tracing` asks for a backend the process has not
    /// bootstrapped (yet): both are read once, when the communicator is created, and found
    /// nothing without a word.
    static func warnIfUnbootstrapped(_ properties: Properties, _ logger: Logger) throws {
        if try properties.int("Floe.Metrics", default: 0) > 0, MetricsSystem.factory is NOOPMetricsHandler {
            logger.warning(
                "Floe.Metrics=1, but no swift-metrics backend is bootstrapped: call MetricsSystem.bootstrap before creating the communicator"
            )
        }
        if try properties.int("Floe.Tracing", default: 0) > 0, InstrumentationSystem.tracer is NoOpTracer {
            logger.warning(
                "Floe.Tracing=1, but no tracer is bootstrapped: call InstrumentationSystem.bootstrap before creating the communicator"
            )
        }
    }

    /// `Floe.Metrics` and `Floe.Tracing` (0 by default): 1 reports to the backends the
    /// process bootstrapped.
    public init(properties: Properties) throws {
        self.init(
            metrics: try properties.int("Floe.Metrics", default: 0) > 0 ? MetricsSystem.factory : nil,
            tracer: try properties.int("Floe.Tracing", default: 0) > 0 ? InstrumentationSystem.tracer : nil)
    }
}
