import Foundation
import Synchronization

/// The byte payload of BENCH.md §2, identical in every peer so a receiver can check it.
enum Payload {
    /// The largest payload this peer sends or accepts. gRPC's message limit is raised to
    /// `Limits.maxMessageBytes` on both sides; the payload leaves room below it for the
    /// protobuf field tag and length.
    static let maxBytes = Limits.maxMessageBytes - 16

    /// N bytes of xorshift32 (shifts 13, 17, 5) output from seed 2463534242: byte k is
    /// 'a' + (low 4 bits of the k-th output).
    static func make(_ size: Int) -> Data {
        var x: UInt32 = 2_463_534_242
        var bytes = [UInt8](repeating: 0, count: max(size, 0))
        for k in bytes.indices {
            x ^= x << 13
            x ^= x >> 17
            x ^= x << 5
            bytes[k] = UInt8(ascii: "a") + UInt8(truncatingIfNeeded: x & 0x0F)
        }
        return Data(bytes)
    }
}

/// The server's payloads by size. BENCH.md §3 lets a server build each data set once; gRPC
/// still serializes the message on every call, so no wire bytes are reused.
final class PayloadCache: Sendable {
    private let payloads = Mutex<[Int: Data]>([:])

    func payload(_ size: Int) -> Data {
        if let cached = payloads.withLock({ $0[size] }) { return cached }
        // Built outside the lock: two first requests may both build it, which is harmless.
        let made = Payload.make(size)
        payloads.withLock { $0[size] = made }
        return made
    }
}

/// Message size limits, the same on both sides.
enum Limits {
    /// BENCH.md §1 asks every peer to accept messages of at least 8 MiB. grpc-swift-2's
    /// default is 4 MiB; it is set explicitly so the figure does not depend on that default.
    static let maxMessageBytes = 8 * 1024 * 1024
}
