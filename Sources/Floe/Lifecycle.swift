public import ServiceLifecycle

/// A communicator is a swift-service-lifecycle `Service`: run it in a `ServiceGroup` (with
/// Hummingbird, swift-otel…), and on graceful shutdown (SIGTERM or SIGINT when the group
/// handles them) it stops accepting, lets running dispatches answer, and is destroyed.
extension Communicator: Service {
    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.waitForShutdown()
        } onGracefulShutdown: {
            Task { await self.shutdown() }
        }
        // `shutdown()` has run (from the handler, a servant or the application) and the
        // dispatches have replied; what remains are client connections.
        await shutdown()
        await destroy()
    }
}
