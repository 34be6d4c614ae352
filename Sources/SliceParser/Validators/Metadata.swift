import SliceAST

extension SemanticAnalyzer {
    /// Directives with the `swift:` prefix that this compiler understands.
    static let swiftDirectives = [
        "swift:module", "swift:class-resolver-prefix", "swift:attribute", "swift:inherits", "swift:noexcept",
        "swift:nonnull", "swift:type", "swift:identifier",
    ]

    /// Warns about metadata this compiler should understand but does not: unknown `swift:`
    /// directives and bad `format:` values. Other languages' directives are ignored.
    mutating func checkMetadata(_ info: DefinitionInfo) {
        for metadata in info.metadata { check(metadata) }
    }

    mutating func check(_ metadata: Metadata) {
        let value = metadata.value
        if value.hasPrefix("swift:") {
            if !Self.swiftDirectives.contains(where: { value == $0 || value.hasPrefix($0 + ":") }) {
                diagnostics.warning("invalid-metadata", "ignoring invalid metadata '\(value)'", at: metadata.location)
            }
        } else if value.hasPrefix("format:") {
            if !["format:sliced", "format:compact", "format:default"].contains(value) {
                diagnostics.warning("invalid-metadata", "ignoring invalid metadata '\(value)'", at: metadata.location)
            }
        }
    }

    mutating func checkFileMetadata(_ file: SourceFile) {
        for metadata in file.metadata {
            check(metadata)
            if metadata.value.hasPrefix("suppress-warning:") {
                let categories = metadata.value.dropFirst("suppress-warning:".count).split(separator: ",")
                for category in categories
                where !["all", "deprecated", "invalid-metadata"].contains(
                    category.trimmingCharacters())
                {
                    diagnostics.warning(
                        "invalid-metadata", "invalid category '\(category)' in file metadata suppress-warning",
                        at: metadata.location)
                }
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
