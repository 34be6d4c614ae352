import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// The gRPC peer of Floe's benchmark (BENCH.md), for comparison:
///
///     grpc-bench server [--endpoints "tcp -h HOST -p PORT"]
///     grpc-bench client [--proxy "bench:tcp -h HOST -p PORT"] [--workloads LIST] ...
///
/// Runs latency, pipelined, throughput-send and throughput-recv as unary gRPC calls over one
/// plaintext HTTP/2 connection.
@main
struct GRPCBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc-bench", abstract: "A gRPC (grpc-swift-2) peer of Floe's benchmark (BENCH.md).",
        subcommands: [BenchServer.self, BenchClient.self])

    /// BENCH.md's exit statuses: 0 success, 1 a failed call or verification, 2 a bad command
    /// line (ArgumentParser's own would be 64).
    static func main() async {
        // Swift concurrency on NIO's event loops, as floe-bench runs by default, so both peers
        // have the same executor set-up (in one A/B it changed gRPC's figures by 4–15%).
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
        do {
            switch command {
            case let server as BenchServer: try await server.run()
            case let client as BenchClient: try await client.run()
            default:
                FileHandle.standardError.write(Data((helpMessage() + "\n").utf8))
                Foundation.exit(2)
            }
        } catch {
            FileHandle.standardError.write(Data("grpc-bench: \(error)\n".utf8))
            Foundation.exit(1)
        }
    }
}
