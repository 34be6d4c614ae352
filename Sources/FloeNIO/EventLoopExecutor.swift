import NIOCore
import NIOPosix

/// Where Swift concurrency runs in a Floe process.
public enum EventLoopExecutor {
    /// Makes NIO's singleton event loops Swift concurrency's global executor, so tasks and the
    /// connections they use share threads: a call from a task running on a connection's loop
    /// writes without a thread switch, and its reply resumes it on the same thread. On small
    /// machines this halves the threads competing for cores. Call it once, first thing in
    /// `main`, before any task starts; returns false when the hook could not be installed.
    @discardableResult
    public static func install() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
