// `import FloeCore` brings the encoding and protocol types that generated code and servants use.
@_exported public import FloeEncoding
@_exported public import FloeProtocol
