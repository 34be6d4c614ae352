extension SwiftGenerator {
    /// A runtime name as generated code writes it: qualified with its module, as ZeroC's
    /// generated Swift writes `Ice.` before its runtime's names, so that a Slice type of the
    /// same name in the application's module (`class Value`, `struct Current`) cannot shadow it.
    func rt(_ name: String) -> String {
        switch name {
        case "Context", "OperationMode": "FloeProtocol.\(name)"
        case "InputStream", "OutputStream", "ReferenceVisitor", "Value", "UserException", "StreamCodable",
            "StreamCodableEnum", "RawDecodable", "RawEncodable", "ValueReferences", "SliceLoader",
            "GeneratedSliceLoaders", "FormatType", "RawReader", "RawWriter":
            "FloeEncoding.\(name)"
        default: "\(options.runtimeModule).\(name)"
        }
    }

    /// A standard library name as generated code writes it, `Swift.String`, as ZeroC's does: a
    /// Slice type may be named `String`, `Date`, `Result` or `Bool` (a warning only), and any
    /// Slice file of the same Swift module would otherwise shadow the standard type.
    func std(_ name: String) -> String { "Swift.\(name)" }
}
