import Foundation
import SliceAST

/// How diagnostics are printed on standard error.
enum DiagnosticFormat: String, CaseIterable {
    /// `file:line:col: error: message`, as compilers print them.
    case text
    /// One JSON object per line and per diagnostic, for editors and CI.
    case json
}

extension DiagnosticFormat {
    func render(_ diagnostics: Diagnostics) -> String {
        switch self {
        // One without a place (a file that cannot be opened) names the program instead, as
        // ZeroC's compilers do.
        case .text:
            return diagnostics.map { ($0.location == nil ? "slice2floe: " : "") + $0.description + "\n" }.joined()
        case .json: return diagnostics.map { Self.json($0) + "\n" }.joined()
        }
    }

    /// `{"file":…,"line":…,"column":…,"severity":…,"code":…,"message":…,"notes":[…]}`; file,
    /// line and column are absent for a diagnostic without a place.
    private static func json(_ diagnostic: Diagnostic) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(JSONDiagnostic(diagnostic))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    private struct JSONDiagnostic: Encodable {
        let file: String?
        let line: Int?
        let column: Int?
        let severity: String
        let code: String
        let message: String
        let notes: [JSONDiagnostic]

        init(_ d: Diagnostic) {
            file = d.location?.file
            line = d.location?.line
            column = d.location?.column
            severity = d.severity.rawValue
            code = d.code.rawValue
            message = d.message
            notes = d.notes.map(JSONDiagnostic.init)
        }
    }
}
