public import ServiceLifecycle

/// A communicator is a swift-service-lifecycle `Service`: run it in a `ServiceGroup` (with
/// Hummingbird, swift-otel…), and on graceful shutdown (SIGTERM or SIGINT when the group
/// handles them) it stops accepting, lets running dispatches answer (however long they take,
/// as in Ice), and is destroyed.
///
/// Cancelled — the group cancels its services when one of them fails or returns, on its
/// cancellation signals, or once `maximumGracefulShutdownDuration` has passed — it closes every
/// connection at once, cancelling the running dispatches (their callers see the connection
/// lost), and is destroyed.
extension Communicator: Service {
    public func run() async throws {
        await withGracefulShutdownHandler {
            // (Returns when cancelled too.)
            await self.waitForShutdown()
        } onGracefulShutdown: {
            Task { await self.shutdown() }
        }
        // `shutdown()` has run (from the handler, a servant or the application) and the
        // dispatches have replied, or the group cancelled this; what remains are client
        // connections.
        await withTaskCancellationHandler {
            await shutdown()
            await destroy()
        } onCancel: {
            Task { await self.abortConnections() }
        }
    }
}
