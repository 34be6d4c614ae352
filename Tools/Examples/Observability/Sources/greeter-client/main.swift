import Greeter
import Logging
import OTel
import ServiceLifecycle
import Tracing

// A Floe client whose calls are spans exported over OTLP:
//   greeter-client PROXY [--calls N] [--Ice.*=…]
// Each call's trace continues in the servers (the request context carries `traceparent`).

struct Calls: Service {
    let communicator: Communicator
    let proxy: String
    let calls: Int

    func run() async throws {
        let greeter = try makeProxy(communicator: communicator, proxyString: proxy, type: (any GreeterPrx).self)
        try await withSpan("greeter-client session") { _ in
            for index in 0..<calls {
                print(try await greeter.greet("caller \(index)"))
            }
            // An error, recorded on the client and server spans.
            do { _ = try await greeter.greet("") } catch let error as GreetingError { print("error: \(error.reason)") }
        }
        await communicator.destroy()
    }
}

let (properties, rest) = try Properties.parse(arguments: Array(CommandLine.arguments.dropFirst()))
var settings = properties
settings["Floe.Tracing"] = "1"
let calls = rest.firstIndex(of: "--calls").flatMap { rest.indices.contains($0 + 1) ? Int(rest[$0 + 1]) : nil } ?? 3
let proxy = rest.first { !$0.hasPrefix("--") && Int($0) == nil } ?? "greeter:tcp -h 127.0.0.1 -p 10000"
let logger = Logger(label: "greeter-client")

var otel = OTel.Configuration.default
otel.serviceName = "greeter-client"
otel.metrics.enabled = false
otel.logs.enabled = false
let observability = try OTel.bootstrap(configuration: otel)
let communicator = try Communicator(properties: settings, logger: logger)
// When the calls are done the group shuts down, which flushes the spans.
try await ServiceGroup(
    configuration: ServiceGroupConfiguration(
        services: [
            .init(service: observability),
            .init(
                service: Calls(communicator: communicator, proxy: proxy, calls: calls),
                successTerminationBehavior: .gracefullyShutdownGroup),
        ],
        logger: logger)
).run()
