public import NIOCore

/// Per-encapsulation reader state.
struct ReadEncapsulation {
    /// The buffer's writer index outside this encapsulation, restored when it ends.
    var outerEnd: Int
    var outerEncoding: EncodingVersion
    /// The enclosing scope's class state, restored when this encapsulation ends.
    var outerClasses: ClassReader
}

extension InputStream {
    /// Encapsulations a message may nest. Legitimate data nests a handful (a request's
    /// parameters, a proxy's endpoint inside them, that in a class…); the bound, with
    /// `classGraphDepthMax` across the whole message, keeps decoding's recursion far from the
    /// stack's limit whatever a peer sends.
    static let maxEncapsulationDepth = 100

    /// Reads an encapsulation header and narrows reading to its content. Returns its encoding.
    @discardableResult
    public mutating func startEncapsulation() throws -> EncodingVersion {
        let (size, version) = try readEncapsulationHeader()
        guard version.isSupported else {
            throw MarshalError(.unsupportedEncoding, "encapsulation uses encoding \(version)")
        }
        guard encapsulationDepth < Self.maxEncapsulationDepth else {
            throw MarshalError(
                .classGraphTooDeep, "encapsulations nested more than \(Self.maxEncapsulationDepth) deep")
        }
        encapsulationDepth += 1
        let end = position + size - 6
        encapsulations.push(
            ReadEncapsulation(outerEnd: buffer.writerIndex, outerEncoding: encoding, outerClasses: classes))
        classes = ClassReader()
        buffer.moveWriterIndex(to: end)
        encoding = version
        return version
    }

    /// Finishes the innermost encapsulation: skips optional values nobody asked for and
    /// checks that the content was consumed exactly.
    public mutating func endEncapsulation() throws {
        guard !encapsulations.isEmpty else {
            throw MarshalError(.encapsulation, "endEncapsulation without startEncapsulation")
        }
        if encoding != .v1_0 {
            try skipRemainingOptionals()
        } else if remaining == 1 {
            // Very old 1.0 peers append one byte; ZeroC tolerates it.
            try skip(1)
        }
        guard isAtEnd else {
            throw MarshalError(.encapsulation, "\(remaining) unread bytes at the end of an encapsulation")
        }
        guard let encaps = encapsulations.pop() else { return }
        encapsulationDepth -= 1
        buffer.moveWriterIndex(to: encaps.outerEnd)
        encoding = encaps.outerEncoding
        classes = encaps.outerClasses
        // Decoding is over and only its caller holds what it made: free what that cannot reach.
        // (Not after an endpoint's encapsulation inside content that goes on: that would
        // collect again and again, the instances read so far each time.)
        if encapsulationDepth == 0, isAtEnd, let receivedGraph {
            receivedGraph.collectUnreachable()
            try receivedGraph.refuseChainsLongerThan(classChainMax)
        }
    }

    /// Skips a whole encapsulation and returns its encoding version.
    @discardableResult
    public mutating func skipEncapsulation() throws -> EncodingVersion {
        try readEncapsulation().encoding
    }

    /// Reads a whole encapsulation without decoding it: its encoding and its content bytes.
    public mutating func readEncapsulation() throws -> (encoding: EncodingVersion, content: ByteBuffer) {
        let (size, version) = try readEncapsulationHeader()
        return (version, try readSlice(count: size - 6))
    }

    private mutating func readEncapsulationHeader() throws -> (size: Int, encoding: EncodingVersion) {
        // Through one raw reader: every request and reply has an encapsulation.
        let (size, version) = try withRawReader { reader in
            let size = Int(try reader.read(Int32.self))
            guard size >= 6 else { throw MarshalError(.encapsulation, "encapsulation size \(size) is below 6") }
            return (size, EncodingVersion(major: try reader.read(UInt8.self), minor: try reader.read(UInt8.self)))
        }
        guard size - 6 <= remaining else {
            throw MarshalError(.encapsulation, "encapsulation of \(size) bytes, only \(remaining + 6) left")
        }
        return (size, version)
    }
}

extension InputStream {
    /// For a stream over an encapsulation's content (no header): skips the optional values
    /// nobody asked for and checks that nothing else is left, as `endEncapsulation()` does.
    public mutating func finishContent() throws {
        if encoding != .v1_0 { try skipRemainingOptionals() }
        guard isAtEnd else {
            throw MarshalError(.encapsulation, "\(remaining) unread bytes at the end of an encapsulation")
        }
    }
}
