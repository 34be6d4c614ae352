import FloeEncoding
import FloeProtocol

/// Prints proxies as ZeroC does: `name -f facet -t -e 1.1:tcp -h host -p 4061 -t 60000`.
enum ProxyStringFormatter {
    static func format(_ data: ProxyData) -> String {
        var text = quoteIfNeeded(identityString(data.identity))
        if !data.facet.isEmpty { text += " -f " + quoteIfNeeded(escape(data.facet, slash: false)) }
        let modes = ["-t", "-o", "-O", "-d", "-D"]
        text += " " + modes[Int(data.mode.rawValue)]
        if data.secure { text += " -s" }
        if data.protocolVersion != .v1_0 { text += " -p \(data.protocolVersion)" }
        text += " -e \(data.encodingVersion)"
        if data.endpoints.isEmpty {
            if !data.adapterId.isEmpty { text += " @ " + quoteIfNeeded(escape(data.adapterId, slash: false)) }
        } else {
            for endpoint in data.endpoints { text += ":" + format(endpoint) }
        }
        return text
    }

    static func format(_ endpoint: EndpointData) -> String {
        switch endpoint {
        case .ip(let ip):
            var text = "\(ip.transport.name)\(host(ip.host)) -p \(ip.port)"
            if !ip.sourceAddress.isEmpty { text += " --sourceAddress \(ip.sourceAddress)" }
            text += ip.timeout == -1 ? " -t infinite" : " -t \(ip.timeout)"
            if ip.compress { text += " -z" }
            // Quoted when it holds a blank, ':' or '@' (ZeroC quotes ':'), so it reads back.
            if ip.hasResourcePublic { text += " -r " + quoteIfNeeded(ip.resource) }
            return text
        case .udp(let udp):
            return "udp\(host(udp.host)) -p \(udp.port)" + (udp.compress ? " -z" : "")
        case .opaque(let opaque):
            return "opaque -t \(opaque.type) -e \(opaque.encoding) -v \(base64(opaque.bytes))"
        }
    }

    /// ` -h HOST`, quoted when it holds colons; nothing for an endpoint that names no host (as
    /// ZeroC prints it: such a proxy reaches `Ice.Default.Host`, else this machine).
    private static func host(_ host: String) -> String {
        host.isEmpty ? "" : " -h " + (host.contains(":") ? "\"\(host)\"" : host)
    }

    /// `category/name`, with `/` escaped inside either part.
    static func identityString(_ identity: Identity) -> String {
        let name = escape(identity.name, slash: true)
        return identity.category.isEmpty ? name : escape(identity.category, slash: true) + "/" + name
    }

    /// ZeroC's default (Unicode) printing: backslash escapes for quotes, backslash and the
    /// C control characters; other control characters as \u00XX; non-ASCII kept.
    static func escape(_ text: String, slash: Bool) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\"": out += "\\\""
            case "/" where slash: out += "\\/"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{7}": out += "\\a"
            case "\u{B}": out += "\\v"
            default:
                if scalar.value < 32 || scalar.value == 127 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    static func quoteIfNeeded(_ text: String) -> String {
        text.contains(where: { $0 == " " || $0 == ":" || $0 == "@" || $0 == "\t" }) ? "\"\(text)\"" : text
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = 0
            for (offset, byte) in chunk.enumerated() { value |= Int(byte) << (16 - 8 * offset) }
            for position in 0..<4 {
                out.append(position <= chunk.count ? alphabet[(value >> (18 - 6 * position)) & 63] : "=")
            }
            index += 3
        }
        return out
    }
}

extension IPEndpointData {
    var hasResourcePublic: Bool { transport == .ws || transport == .wss }
}

// Endpoints print as in proxy strings, as Ice's `Endpoint.toString()` does
// (`ssl -h 127.0.0.1 -p 4063 -t 60000 -z`): printed, `adapter.publishedEndpoints` showed each
// struct's fields. (Declared here, by the formatter; FloeEncoding, which defines the types,
// knows nothing of proxy strings.)
extension EndpointData: CustomStringConvertible {
    public var description: String { ProxyStringFormatter.format(self) }
}

extension IPEndpointData: CustomStringConvertible {
    /// (A udp adapter's published endpoint is an `IPEndpointData` too: printed in udp's form.)
    public var description: String { ProxyStringFormatter.format(EndpointData(self)) }
}

extension UDPEndpointData: CustomStringConvertible {
    public var description: String { ProxyStringFormatter.format(.udp(self)) }
}

extension OpaqueEndpointData: CustomStringConvertible {
    public var description: String { ProxyStringFormatter.format(.opaque(self)) }
}
