import NIOCore

/// How a proxy sends its requests (the proxy's `mode` byte on the wire).
public enum ProxyMode: UInt8, Sendable, Hashable {
    case twoway = 0, oneway, batchOneway, datagram, batchDatagram
}

/// A proxy as the encoding sees it: everything that travels on the wire, and nothing of
/// the runtime (connections, communicator). The runtime's proxies convert to and from it.
public struct ProxyData: Hashable, Sendable {
    public var identity: Identity
    /// Empty for the default facet.
    public var facet: String
    public var mode: ProxyMode
    public var secure: Bool
    public var protocolVersion: ProtocolVersion
    public var encodingVersion: EncodingVersion
    /// Non-empty for a direct proxy.
    public var endpoints: [EndpointData]
    /// For an indirect proxy (no endpoints): the adapter id, empty for a well-known proxy.
    public var adapterId: String

    public init(
        identity: Identity, facet: String = "", mode: ProxyMode = .twoway, secure: Bool = false,
        protocolVersion: ProtocolVersion = .v1_0, encodingVersion: EncodingVersion = .v1_1,
        endpoints: [EndpointData] = [], adapterId: String = ""
    ) {
        self.identity = identity
        self.facet = facet
        self.mode = mode
        self.secure = secure
        self.protocolVersion = protocolVersion
        self.encodingVersion = encodingVersion
        self.endpoints = endpoints
        self.adapterId = adapterId
    }
}

extension ProxyData: NullableStreamCodable {
    public static func readNullable(from stream: inout InputStream) throws -> ProxyData? {
        try stream.read(ProxyData.self)
    }
    public static func writeNullable(_ value: ProxyData?, to stream: inout OutputStream) { stream.write(value) }
    public static var nullableMinWireSize: Int { 2 }
    public static var nullableOptionalFormat: OptionalFormat { .fSize }
}

extension OutputStream {
    /// Writes a facet as the wire's sequence of zero or one string.
    public mutating func writeFacet(_ facet: String) {
        if facet.isEmpty {
            writeSize(0)
        } else {
            writeSize(1)
            write(facet)
        }
    }

    /// Writes a proxy, or the null proxy (`00 00`).
    public mutating func write(_ proxy: ProxyData?) {
        guard let proxy else {
            Identity().encode(to: &self)
            return
        }
        proxy.identity.encode(to: &self)
        writeFacet(proxy.facet)
        write(proxy.mode.rawValue)
        write(proxy.secure)
        if encoding != .v1_0 {
            write(proxy.protocolVersion.major)
            write(proxy.protocolVersion.minor)
            write(proxy.encodingVersion.major)
            write(proxy.encodingVersion.minor)
        }
        writeSize(proxy.endpoints.count)
        for endpoint in proxy.endpoints { write(endpoint) }
        if proxy.endpoints.isEmpty { write(proxy.adapterId) }
    }
}

extension InputStream {
    /// Reads a facet: a sequence of zero or one string.
    public mutating func readFacet() throws -> String {
        switch try readSize() {
        case 0: return ""
        case 1: return try read(String.self)
        case let n: throw MarshalError(.invalidValue, "facet path with \(n) elements")
        }
    }

    /// Reads a proxy; an empty identity name is the null proxy.
    public mutating func read(_: ProxyData.Type) throws -> ProxyData? {
        let identity = try Identity(from: &self)
        if identity.name.isEmpty {
            guard identity.category.isEmpty else {
                throw MarshalError(.invalidValue, "proxy identity with a category but no name")
            }
            return nil
        }
        let facet = try readFacet()
        let modeByte = try read(UInt8.self)
        guard let mode = ProxyMode(rawValue: modeByte) else {
            throw MarshalError(.invalidValue, "proxy mode \(modeByte)")
        }
        let secure = try read(Bool.self)
        var protocolVersion = ProtocolVersion.v1_0
        var encodingVersion = EncodingVersion.v1_0
        if encoding != .v1_0 {
            protocolVersion = ProtocolVersion(major: try read(UInt8.self), minor: try read(UInt8.self))
            encodingVersion = EncodingVersion(major: try read(UInt8.self), minor: try read(UInt8.self))
        }
        // An endpoint takes at least 8 bytes: its type and an empty encapsulation.
        let count = try readCount(minElementSize: 8)
        var endpoints: [EndpointData] = []
        endpoints.reserveCapacity(count)
        for _ in 0..<count { endpoints.append(try read(EndpointData.self)) }
        let adapterId = count == 0 ? try read(String.self) : ""
        return ProxyData(
            identity: identity, facet: facet, mode: mode, secure: secure, protocolVersion: protocolVersion,
            encodingVersion: encodingVersion, endpoints: endpoints, adapterId: adapterId)
    }
}
