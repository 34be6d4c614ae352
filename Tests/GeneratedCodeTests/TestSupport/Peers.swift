import Foundation

/// The Python that has ZeroC Ice (Debian's python3-zeroc-ice), the peers' folder, and the
/// folder of the Slice they load (the test target's).
let peerPython = "/usr/bin/python3"
let sliceFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let peersFolder = sliceFolder.appendingPathComponent("Peers")

/// Starts a process and returns it with a reader for its standard output.
func launchPeer(_ script: String, _ arguments: [String]) throws -> (Process, FileHandle) {
    let process = Process()
    if script.hasSuffix(".py") {
        process.executableURL = URL(fileURLWithPath: peerPython)
        process.arguments = [peersFolder.appendingPathComponent(script).path, sliceFolder.path] + arguments
    } else {
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = arguments
    }
    let output = Pipe()
    process.standardOutput = output
    // Never let a peer hold the test runner's own output open.
    process.standardError = FileHandle.nullDevice
    try runWithWatchdog(process)
    return (process, output.fileHandleForReading)
}

/// The next line a peer writes (blocking reads run off the cooperative pool).
func firstLine(of handle: FileHandle) async throws -> String {
    try await offPool {
        var line = Data()
        while true {
            let byte = try handle.read(upToCount: 1) ?? Data()
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line += byte
        }
        return String(decoding: line, as: UTF8.self)
    }
}
