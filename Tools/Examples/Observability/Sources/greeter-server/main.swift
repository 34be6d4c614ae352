import Greeter
import Logging
import Metrics
import OTel
import Prometheus
import ServiceLifecycle

// A Floe server with metrics for Prometheus and spans for an OTLP collector:
//   greeter-server [--Greeter.Endpoints=…] [--Greeter.Downstream=PROXY] [--Metrics.Port=9464] [--Ice.*=…]
// Spans go to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318), as swift-otel reads it.

/// Greets, asking the downstream greeter first when there is one: its call is a child span.
struct GreeterServant: Greeter {
    let downstream: (any GreeterPrx)?

    func greet(name: String, current: Current) async throws -> String {
        // The caller's trace context, as swift-otel's propagation wrote it into the request context.
        print("greet(\"\(name)\") traceparent=\(current.ctx["traceparent"] ?? "none")")
        guard !name.isEmpty else { throw GreetingError(reason: "there is nobody to greet") }
        if let downstream { return "[\(try await downstream.greet(name))]" }
        return "Hello, \(name)!"
    }
}

var (properties, _) = try Properties.parse(
    arguments: CommandLine.arguments, prefixes: Properties.reservedPrefixes + ["Greeter", "Metrics"])
properties["Greeter.Endpoints"] = properties["Greeter.Endpoints"] ?? "tcp -h 127.0.0.1 -p 10000"
// Floe reports to the backends bootstrapped below.
properties["Floe.Metrics"] = "1"
properties["Floe.Tracing"] = "1"
let logger = Logger(label: "greeter-server")

let registry = PrometheusCollectorRegistry()
MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
var otel = OTel.Configuration.default
otel.serviceName = properties["Greeter.Downstream"] == nil ? "greeter-backend" : "greeter-frontend"
otel.metrics.enabled = false  // Prometheus has them
otel.logs.enabled = false
let observability = try OTel.bootstrap(configuration: otel)

let communicator = try Communicator(properties: properties, logger: logger)
let downstream = try properties["Greeter.Downstream"].map {
    try makeProxy(communicator: communicator, proxyString: $0, type: (any GreeterPrx).self)
}
let adapter = try await communicator.createObjectAdapter(name: "Greeter")
let served = try adapter.add(servant: GreeterServant(downstream: downstream), id: Identity(name: "greeter"))
try await adapter.activate()
logger.info("serving \"\(served)\"")

let metrics = MetricsEndpoint(
    registry: registry, host: "127.0.0.1", port: try properties.int("Metrics.Port", default: 9464), logger: logger)
try await ServiceGroup(
    configuration: ServiceGroupConfiguration(
        services: [
            .init(service: observability), .init(service: metrics),
            // Shut down by a call (Process admin facet), the communicator ends the group too.
            .init(service: communicator, successTerminationBehavior: .gracefullyShutdownGroup),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
).run()
