import FloeEncoding
public import Tracing

/// Starts a client span for each invocation and carries its trace context to the server in
/// the request context, in the entries the tracer's propagation writes (W3C `traceparent`
/// and `tracestate` with swift-otel). ZeroC peers ignore those entries. `Floe.Tracing=1` adds
/// one to every communicator.
///
/// The span is named after the operation, has the attributes `rpc.system` (`ice`),
/// `rpc.method`, `rpc.service` (the target's identity) and, with a facet, `floe.facet`, and
/// records thrown errors; a user exception sets the error status with its type id.
public struct TracingInterceptor: ClientInterceptor {
    let tracer: any Tracer

    public init(tracer: any Tracer) { self.tracer = tracer }

    public func intercept(_ request: OutgoingRequest, next: Next) async throws -> IncomingResponse {
        return try await inSpan(tracer, request.operation, context: .current ?? .topLevel, kind: .client) { span in
            if span.isRecording {
                let reference = request.fixed.reference
                span.attributes["rpc.system"] = "ice"
                span.attributes["rpc.method"] = request.operation
                span.attributes["rpc.service"] = reference.communicator.identityToString(reference.data.identity)
                if !reference.data.facet.isEmpty { span.attributes["floe.facet"] = reference.data.facet }
            }
            var request = request
            tracer.inject(span.context, into: &request.context, using: RequestContextInjector())
            do {
                let response = try await next(request)
                if response.replyStatus == .userException {
                    span.setStatus(SpanStatus(code: .error, message: "user exception"))
                }
                return response
            } catch {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error, message: CallMetrics.outcome(ofInvocationError: error)))
                throw error
            }
        }
    }
}

/// Continues the trace a request's context carries (or starts one) with a server span around
/// each dispatch; calls the servant makes are children of it. `Floe.Tracing=1` puts one in
/// front of every adapter.
///
/// ```swift
/// try adapter.use { TracingMiddleware(next: $0, tracer: InstrumentationSystem.tracer) }
/// ```
public struct TracingMiddleware: Dispatcher {
    public let next: any Dispatcher
    let tracer: any Tracer

    public init(next: any Dispatcher, tracer: any Tracer) {
        self.next = next
        self.tracer = tracer
    }

    public func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        let current = request.current
        var context = ServiceContext.topLevel
        tracer.extract(current.ctx, into: &context, using: RequestContextExtractor())
        return try await inSpan(tracer, current.operation, context: context, kind: .server) { span in
            // (A span sampled out records nothing: skip what only attributes need.)
            if span.isRecording {
                span.attributes["rpc.system"] = "ice"
                span.attributes["rpc.method"] = current.operation
                span.attributes["rpc.service"] = current.adapter.communicator.identityToString(current.id)
                if !current.facet.isEmpty { span.attributes["floe.facet"] = current.facet }
                if let info = current.con?.info {
                    span.attributes["network.peer.address"] = info.remoteAddress
                    span.attributes["network.peer.port"] = Int(info.remotePort)
                }
            }
            do {
                let response = try await next.dispatch(request)
                if response.replyStatus == .userException {
                    span.setStatus(
                        SpanStatus(code: .error, message: "user exception \(response.exceptionId ?? "")"))
                }
                return response
            } catch let error as any UserException {
                span.setStatus(SpanStatus(code: .error, message: "user exception \(error.ice_id())"))
                throw error
            } catch {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error, message: CallMetrics.outcome(ofDispatchError: error)))
                throw error
            }
        }
    }
}

/// Runs `body` in a new span, current while it runs. (Not `withSpan`: on a thrown error it
/// replaces the status set here, which says what the error was, with a bare error status.)
private func inSpan<T: Tracer, Result>(
    _ tracer: T, _ name: String, context: ServiceContext, kind: SpanKind, _ body: (T.Span) async throws -> Result
) async throws -> Result {
    let span = tracer.startSpan(name, context: context, ofKind: kind)
    defer { span.end() }
    return try await ServiceContext.$current.withValue(span.context) { try await body(span) }
}

/// Writes trace context into an Ice request context.
struct RequestContextInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

/// Reads trace context from an Ice request context.
struct RequestContextExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
