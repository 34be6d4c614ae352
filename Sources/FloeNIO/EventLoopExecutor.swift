public import FloeCore
import FloeEncoding
import FloeProtocol
public import NIOCore
import NIOPosix

/// Where Swift concurrency runs in a Floe process.
public enum EventLoopExecutor {
    /// Makes NIO's singleton event loops Swift concurrency's global executor, so tasks and the
    /// connections they use share threads: a call from a task running on a connection's loop
    /// writes without a thread switch, and its reply resumes it on the same thread. On small
    /// machines it also means fewer threads competing for cores (the event loops alone instead
    /// of the loops plus Swift's pool). Call it once, first thing in `main`, before any task
    /// starts; returns false when the hook could not be installed.
    @discardableResult
    public static func install() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}

/// An actor that runs on the event loop of a connection. Code isolated to it calls proxies that
/// use that connection without any thread or executor switch: a request is written and its
/// reply resumes the caller on the same thread. (Code on the global executor hops to it once per
/// await instead.)
public actor ConnectionActor {
    public nonisolated let eventLoop: any EventLoop

    /// The actor of a connection made by `NIOTransport`; nil for other transports.
    public init?(_ connection: any Connection) {
        guard let connection = connection as? NIOConnection else { return nil }
        eventLoop = connection.eventLoop
    }

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        eventLoop.executor.asUnownedSerialExecutor()
    }
}
