import Foundation
import Synchronization
import TestSupport
import Testing

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
    // Never let a peer hold the test runner's own output open: its errors go to a file that
    // `peerErrors` reads when a test needs to say why a peer failed.
    let errors = FileManager.default.temporaryDirectory.appendingPathComponent("floe-peer-\(UUID().uuidString).err")
    if FileManager.default.createFile(atPath: errors.path, contents: nil),
        let handle = try? FileHandle(forWritingTo: errors)
    {
        process.standardError = handle
    } else {
        process.standardError = FileHandle.nullDevice
    }
    try runWithWatchdog(process)
    peerErrorFiles.withLock { $0[ObjectIdentifier(process)] = errors }
    return (process, output.fileHandleForReading)
}

private let peerErrorFiles = Mutex<[ObjectIdentifier: URL]>([:])

/// What a peer started by `launchPeer` has written to its standard error so far (empty if
/// nothing, or if it could not be kept).
func peerErrors(_ process: Process) -> String {
    guard let file = peerErrorFiles.withLock({ $0[ObjectIdentifier(process)] }),
        let data = try? Data(contentsOf: file)
    else { return "" }
    return String(decoding: data, as: UTF8.self)
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

/// The `floe-bench` built next to this test bundle (by `Tools/test.sh`, or by
/// `Tools/scripts/sanitizers.sh` in its own build folder), or nil after recording that it is
/// missing.
func builtFloeBench() -> String? {
    let bench = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("floe-bench").path
    guard FileManager.default.isExecutableFile(atPath: bench) else {
        Issue.record("build floe-bench first (Tools/test.sh does)")
        return nil
    }
    return bench
}
