import FloeEncoding
import NIOCore
import PropertyBased
import Testing

import struct Foundation.Data

/// `sequence<byte>` as `Data`: the same bytes on the wire as an array of bytes, required and
/// optional, and a large received sequence shares the message's storage instead of copying it.
@Suite("Byte sequences as Data")
struct ByteSequenceTests {
    @Test func encodesAsAnArrayOfBytesDoes() async {
        await propertyCheck(input: Gen.uint8(in: 0...255).array(of: 0...600), Gen.int(in: 1...300)) { bytes, tag in
            let asData = encapsulate { out in
                Data(bytes).encode(to: &out)
                out.write(tag: tag, Data(bytes))
            }
            let asArray = encapsulate { out in
                bytes.encode(to: &out)
                out.write(tag: tag, bytes)
            }
            #expect(asData == asArray)
            let decoded = try decapsulate(asArray) { input in
                (try Data(from: &input), try input.read(tag: tag, Data.self))
            }
            #expect(decoded.0 == Data(bytes) && decoded.1 == Data(bytes))
        }
    }

    @Test func absentOptionalIsNil() throws {
        let bytes = encapsulate { $0.write(tag: 3, Data?.none) }
        #expect(try decapsulate(bytes) { try $0.read(tag: 3, Data.self) } == nil)
    }

    /// Above NIO's 256 KiB threshold the `Data` points into the message's buffer; below it,
    /// it has bytes of its own (a copy is cheaper than sharing for small sequences).
    @Test(arguments: [(1_000, false), (300_000, true)])
    func largeSequencesShareTheMessageStorage(count: Int, shared: Bool) throws {
        let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var out = OutputStream()
        payload.encode(to: &out)
        let message = out.finished()
        var stream = InputStream(buffer: message)
        let data = try Data(from: &stream)
        #expect(data == Data(payload))
        let sizeBytes = 5
        let messageBytes = message.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) + UInt(sizeBytes) }
        let dataBytes = data.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        #expect((dataBytes == messageBytes) == shared)
    }

    @Test func truncatedAndHugeCountsFail() {
        var truncated = InputStream(bytes: [10, 1, 2, 3])
        #expect(throws: MarshalError.self) { try Data(from: &truncated) }
        var huge = InputStream(bytes: [0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2])
        #expect(throws: MarshalError.self) { try Data(from: &huge) }
    }
}
