import Logging
import NIOConcurrencyHelpers
import Testing

@testable import FloeCore

/// A server chooses the exception type ids a client cannot decode: the client's one warning
/// per id is bounded in count and length, and so is what it remembers.
@Suite("Unknown exceptions reported")
struct UnknownExceptionReportTests {
    @Test func aPeerInventingTypeIdsGetsAtMostAHundredWarnings() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let communicator = Communicator(logger: Logger(label: "client") { _ in CapturingLogHandler(lines: lines) })
        for round in 0..<2 {
            for index in 0..<150 {
                communicator.reportUnknownException("::Invented::E\(index)" + String(repeating: "x", count: 10_000))
            }
            #expect(lines.withLockedValue { $0.count } == Communicator.unknownTypeIdsReported, "round \(round)")
        }
        #expect(lines.withLockedValue { $0.allSatisfy { $0.utf8.count < 500 } })
        await communicator.destroy()
    }
}
