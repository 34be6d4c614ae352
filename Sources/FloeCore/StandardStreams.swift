import Synchronization

// (@preconcurrency: `stdout` is a C global, which Swift 6 refuses to name otherwise.)
#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// `Ice.StdOut` and `Ice.StdErr`: the files this process's standard output and error go to,
/// appended to. IceGrid nodes set them (from `IceGrid.Node.Output`) for the servers they
/// start and read them back for `icegridadmin server show`. As in ZeroC, the first
/// communicator configured with them redirects the streams, once for the whole process.
enum StandardStreams {
    private static let redirected = Mutex(false)

    static func redirect(_ properties: Properties) throws {
        let out = properties["Ice.StdOut"] ?? ""
        let err = properties["Ice.StdErr"] ?? ""
        guard !out.isEmpty || !err.isEmpty else { return }
        try redirected.withLock { done in
            guard !done else { return }
            fflush(nil)  // what was written before goes where it was meant to
            if !out.isEmpty {
                try reopen(STDOUT_FILENO, out, property: "Ice.StdOut")
                // Line by line, as on a terminal: into a file, C (and `print`) would hold lines
                // back until 4 KiB gathered, and `icegridadmin server show` would show nothing.
                setvbuf(stdout, nil, _IOLBF, 0)
            }
            if !err.isEmpty { try reopen(STDERR_FILENO, err, property: "Ice.StdErr") }
            done = true
        }
    }

    /// Points `descriptor` at `path` (the C streams and FileHandle over it follow).
    private static func reopen(_ descriptor: Int32, _ path: String, property: String) throws {
        let file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard file >= 0 else {
            let reason = String(cString: strerror(errno))
            throw LocalError(.invalidArgument, "\(property): cannot open '\(path)' for appending: \(reason)")
        }
        defer { close(file) }
        guard dup2(file, descriptor) >= 0 else {
            let reason = String(cString: strerror(errno))
            throw LocalError(.invalidArgument, "\(property): cannot redirect to '\(path)': \(reason)")
        }
    }
}
