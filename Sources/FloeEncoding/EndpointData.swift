import NIOCore

/// An endpoint as it travels inside a proxy: a transport type and its parameters.
public enum EndpointData: Hashable, Sendable {
    /// tcp, ssl, ws and wss endpoints.
    case ip(IPEndpointData)
    /// A udp endpoint.
    case udp(UDPEndpointData)
    /// An endpoint of a transport this process does not know, kept byte for byte.
    case opaque(OpaqueEndpointData)

    /// The wire's endpoint type numbers.
    public enum Transport: Int16, Sendable, Hashable {
        case tcp = 1, ssl = 2, udp = 3, ws = 4, wss = 5

        /// The name endpoints are written with: `tcp`, `ssl`, `udp`, `ws` or `wss`.
        public var name: String {
            switch self {
            case .tcp: "tcp"
            case .ssl: "ssl"
            case .udp: "udp"
            case .ws: "ws"
            case .wss: "wss"
            }
        }

        /// Whether connections over it are encrypted: ssl, and wss (WebSocket over TLS).
        public var isSecure: Bool { self == .ssl || self == .wss }
    }
}

/// The parameters of a tcp, ssl, ws or wss endpoint. Where the runtime connects and listens,
/// a udp endpoint takes this form too (`UDPEndpointData.ipEndpoint`), with transport `.udp`.
public struct IPEndpointData: Hashable, Sendable {
    public var transport: EndpointData.Transport
    public var host: String
    public var port: Int32
    /// Milliseconds; -1 is infinite. Current peers ignore it; 60000 is what they write.
    public var timeout: Int32
    public var compress: Bool
    /// The HTTP resource of ws and wss endpoints (`/` by default); unused otherwise.
    public var resource: String
    /// The local IP address outgoing connections bind to (`--sourceAddress`; empty: any).
    /// A setting of this process, not part of the wire form: a decoded endpoint has none.
    public var sourceAddress: String

    public init(
        transport: EndpointData.Transport = .tcp, host: String, port: Int32, timeout: Int32 = 60000,
        compress: Bool = false, resource: String = "/", sourceAddress: String = ""
    ) {
        self.transport = transport
        self.host = host
        self.port = port
        self.timeout = timeout
        self.compress = compress
        self.resource = resource
        self.sourceAddress = sourceAddress
    }

    var hasResource: Bool { transport == .ws || transport == .wss }
}

public struct UDPEndpointData: Hashable, Sendable {
    public var host: String
    public var port: Int32
    public var compress: Bool

    public init(host: String, port: Int32, compress: Bool = false) {
        self.host = host
        self.port = port
        self.compress = compress
    }

    /// This endpoint as the runtime connects to it or listens on it (transport `.udp`; udp
    /// endpoints have no timeout).
    public var ipEndpoint: IPEndpointData {
        IPEndpointData(transport: .udp, host: host, port: port, timeout: -1, compress: compress)
    }
}

extension EndpointData {
    /// An endpoint as proxies carry it: udp endpoints in their own form, others as IP ones.
    public init(_ endpoint: IPEndpointData) {
        self =
            endpoint.transport == .udp
            ? .udp(UDPEndpointData(host: endpoint.host, port: endpoint.port, compress: endpoint.compress))
            : .ip(endpoint)
    }
}

public struct OpaqueEndpointData: Hashable, Sendable {
    public var type: Int16
    public var encoding: EncodingVersion
    public var bytes: [UInt8]

    public init(type: Int16, encoding: EncodingVersion, bytes: [UInt8]) {
        self.type = type
        self.encoding = encoding
        self.bytes = bytes
    }
}

extension OutputStream {
    public mutating func write(_ endpoint: EndpointData) {
        switch endpoint {
        case .ip(let ip):
            write(ip.transport.rawValue)
            startEncapsulation(encoding: encoding)
            write(ip.host)
            write(ip.port)
            write(ip.timeout)
            write(ip.compress)
            if ip.hasResource { write(ip.resource) }
            endEncapsulation()
        case .udp(let udp):
            write(EndpointData.Transport.udp.rawValue)
            startEncapsulation(encoding: encoding)
            write(udp.host)
            write(udp.port)
            if encoding == .v1_0 { writeBlob([1, 0, 1, 0]) }
            write(udp.compress)
            endEncapsulation()
        case .opaque(let opaque):
            write(opaque.type)
            writeEncapsulation(encoding: opaque.encoding, content: opaque.bytes)
        }
    }
}

extension InputStream {
    public mutating func read(_: EndpointData.Type) throws -> EndpointData {
        let rawType = try read(Int16.self)
        guard let transport = EndpointData.Transport(rawValue: rawType) else {
            let (encoding, content) = try readEncapsulation()
            return .opaque(
                OpaqueEndpointData(type: rawType, encoding: encoding, bytes: Array(content.readableBytesView)))
        }
        let encoding = try startEncapsulation()
        let endpoint: EndpointData
        if transport == .udp {
            let host = try read(String.self)
            let port = try read(Int32.self)
            if encoding == .v1_0 { try skip(4) }
            endpoint = .udp(UDPEndpointData(host: host, port: port, compress: try read(Bool.self)))
        } else {
            var ip = IPEndpointData(
                transport: transport, host: try read(String.self), port: try read(Int32.self),
                timeout: try read(Int32.self), compress: try read(Bool.self))
            if ip.hasResource { ip.resource = try read(String.self) }
            endpoint = .ip(ip)
        }
        try endEncapsulation()
        return endpoint
    }
}
