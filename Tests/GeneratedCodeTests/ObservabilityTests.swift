import FloeCore
import FloeNIO
import InMemoryTracing
import Logging
import MetricsTestKit
import NIOConcurrencyHelpers
import NIOCore
import Testing
import Tracing

/// For `opIdempotent`, calls `ice_ping` on `downstream` before the servant runs, as a servant
/// that uses another service would, inside the server's span.
private struct CallsDownstream: Dispatcher {
    let next: any Dispatcher
    let downstream: any TesterPrx

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        if request.current.operation == "opIdempotent" { try await downstream.ice_ping() }
        return try await next.dispatch(request)
    }
}

/// Metrics and spans (issue 18), checked with swift-metrics' and swift-distributed-tracing's
/// in-memory backends.
@Suite("Observability", .serialized, .timeLimit(.minutes(2)))
struct ObservabilityTests {
    private static func server(_ observability: Observability, downstream: (any TesterPrx)? = nil) async throws
        -> (Communicator, Int32)
    {
        let communicator = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), observability: observability)
        let adapter = try await communicator.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        if let downstream { try adapter.use { CallsDownstream(next: $0, downstream: downstream) } }
        try await adapter.activate()
        return (communicator, adapter.endpoints.first?.port ?? 0)
    }

    private static func client(_ observability: Observability, port: Int32, name: String = "tester") throws
        -> (Communicator, any TesterPrx)
    {
        let communicator = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), retryIntervals: [],
            observability: observability)
        let proxy = try makeProxy(
            communicator: communicator, proxyString: "\(name):tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        return (communicator, proxy)
    }

    @Test func oneTraceSpansClientServerAndSecondServer() async throws {
        let tracer = InMemoryTracer()
        let traced = Observability(tracer: tracer)
        let (second, secondPort) = try await Self.server(traced)
        // The first server calls the second through a communicator of its own, traced too.
        let (middleClient, downstream) = try Self.client(traced, port: secondPort)
        let (server, port) = try await Self.server(traced, downstream: downstream)
        let (client, tester) = try Self.client(traced, port: port)

        #expect(try await tester.opIdempotent() == 7)
        let spans = tracer.popFinishedSpans()
        #expect(spans.count == 4, "\(spans.map(\.operationName))")
        let root = try #require(spans.first { $0.kind == .client && $0.operationName == "opIdempotent" })
        let middleSpan = try #require(spans.first { $0.kind == .server && $0.operationName == "opIdempotent" })
        let downstreamCall = try #require(spans.first { $0.kind == .client && $0.operationName == "ice_ping" })
        let downstreamSpan = try #require(spans.first { $0.kind == .server && $0.operationName == "ice_ping" })
        #expect(Set(spans.map(\.traceID)) == [root.traceID])
        #expect(root.parentSpanID == nil)
        #expect(middleSpan.parentSpanID == root.spanID)
        #expect(downstreamCall.parentSpanID == middleSpan.spanID)
        #expect(downstreamSpan.parentSpanID == downstreamCall.spanID)
        #expect(root.attributes["rpc.system"]?.toSpanAttribute() == "ice")
        #expect(middleSpan.attributes["rpc.service"]?.toSpanAttribute() == "tester")
        #expect(root.status == nil && middleSpan.status == nil)
        // The trace context travelled in the request context.
        #expect(tracer.performedContextInjections.count == 2)
        #expect(tracer.performedContextExtractions.count == 2)

        // A user exception and an unexpected error: recorded on both sides.
        await #expect(throws: BaseError.self) { try await tester.opThrow(1) }
        await #expect(throws: DispatchError.self) { try await tester.opUndeclared(0) }
        let failed = tracer.popFinishedSpans()
        #expect(failed.count == 4)
        for span in failed {
            #expect(span.status?.code == .error, "\(span.kind) \(span.operationName)")
        }
        let thrown = try #require(failed.first { $0.kind == .server && $0.operationName == "opUndeclared" })
        #expect(thrown.errors.count == 1)
        #expect(thrown.status?.message == "unknownException")
        let caller = try #require(failed.first { $0.kind == .client && $0.operationName == "opUndeclared" })
        #expect(caller.errors.first?.error is DispatchError)
        let userException = try #require(failed.first { $0.kind == .server && $0.operationName == "opThrow" })
        #expect(userException.status?.message?.contains("::Vectors::") == true)

        for communicator in [client, server, middleClient, second] { await communicator.destroy() }
    }

    @Test func metricsCountCallsOutcomesConnectionsAndBytes() async throws {
        let metrics = TestMetrics()
        let measured = Observability(metrics: metrics)
        let (server, port) = try await Self.server(measured)
        let (client, tester) = try Self.client(measured, port: port)
        for _ in 0..<3 { #expect(try await tester.opIdempotent() == 7) }
        for _ in 0..<2 { await #expect(throws: BaseError.self) { try await tester.opThrow(1) } }
        await #expect(throws: DispatchError.self) { try await tester.opUndeclared(0) }
        let (_, missing) = try Self.client(.off, port: port, name: "nobody")
        await #expect(throws: DispatchError.self) { try await missing.ice_ping() }
        let (_, refused) = try Self.client(measured, port: 1)
        await #expect(throws: LocalError.self) { try await refused.ice_ping() }

        func count(_ side: String, _ operation: String, _ outcome: String) -> Int {
            metrics.timers(
                label: "floe.\(side).duration", dimensions: [("operation", operation), ("outcome", outcome)]
            )
            .reduce(0) { $0 + $1.values.count }
        }
        #expect(count("client", "opIdempotent", "ok") == 3)
        #expect(count("server", "opIdempotent", "ok") == 3)
        #expect(count("client", "opThrow", "userException") == 2)
        #expect(count("server", "opThrow", "userException") == 2)
        #expect(count("client", "opUndeclared", "unknownException") == 1)
        #expect(count("server", "opUndeclared", "unknownException") == 1)
        // A missing object counts as operation "unknown": names a client chose stay out.
        #expect(count("server", "unknown", "objectNotExist") == 1)
        #expect(count("client", "ice_ping", "connectionRefused") == 1)
        let durations = try metrics.expectTimer(
            "floe.server.duration", [("operation", "opIdempotent"), ("outcome", "ok")])
        #expect(durations.values.count == 3 && durations.values.allSatisfy { $0 > 0 })

        // Two connections reached the server (the measured client's and the other's); the
        // measured client made one (the refused connect never opened).
        #expect(metrics.counterTotal(label: "floe.connections.opened", dimensions: [("side", "server")]) == 2)
        #expect(metrics.counterTotal(label: "floe.connections.opened", dimensions: [("side", "client")]) == 1)
        #expect(try metrics.expectMeter("floe.connections.open", [("side", "client")]).lastValue == 1)
        #expect(metrics.counterTotal(label: "floe.bytes.sent") > 0)
        #expect(metrics.counterTotal(label: "floe.bytes.received") > 0)
        await client.destroy()
        #expect(try metrics.expectMeter("floe.connections.open", [("side", "client")]).lastValue == 0)
        #expect(metrics.counterTotal(label: "floe.connections.closed", dimensions: [("side", "client")]) == 1)
        await server.destroy()
    }

    /// The tracer of a process that bootstrapped none: nothing to record, so nothing installed.
    @Test func aNoOpTracerMeansNoTracing() {
        #expect(Observability(tracer: NoOpTracer()).tracer == nil)
        #expect(Observability(tracer: InMemoryTracer()).tracer != nil)
    }

    @Test func hostileOperationNamesCannotGrowTheMetrics() async throws {
        let metrics = TestMetrics()
        let (server, port) = try await Self.server(Observability(metrics: metrics))
        let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), retryIntervals: [])
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        for index in 0..<300 {
            _ = try? await tester.ice_invoke(
                operation: "made-up-\(index)", mode: .normal, inEncaps: ByteBuffer(bytes: [6, 0, 0, 0, 1, 1]))
        }
        let labels = Set(
            metrics.timers(label: "floe.server.duration").compactMap { counter in
                counter.dimensions.first { $0.0 == "operation" }?.1
            })
        #expect(labels == ["unknown"], "\(labels.count) operation labels")
        await client.destroy()
        await server.destroy()
    }
}

/// `Floe.Metrics=1` and `Floe.Tracing=1` read the backends once, when the communicator is
/// created: one created before the process bootstraps them says so (it reported nothing,
/// without a word; helper-58). (This test process bootstraps neither.)
@Suite("Observability asked for without a backend")
struct UnbootstrappedObservabilityTests {
    @Test func aCommunicatorAskingForMissingBackendsSaysSo() throws {
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "observability-test") { _ in CapturingLogHandler(lines: lines) }
        var properties = Properties()
        properties["Floe.Metrics"] = "1"
        properties["Floe.Tracing"] = "1"
        _ = try Communicator(properties: properties, logger: logger)
        let logged = lines.withLockedValue { $0 }
        #expect(
            logged.contains { $0.contains("Floe.Metrics=1, but no swift-metrics backend is bootstrapped") }, "\(logged)"
        )
        #expect(logged.contains { $0.contains("Floe.Tracing=1, but no tracer is bootstrapped") }, "\(logged)")
        lines.withLockedValue { $0 = [] }
        _ = try Communicator(properties: Properties(), logger: logger)
        #expect(lines.withLockedValue { $0 }.isEmpty)
    }
}
