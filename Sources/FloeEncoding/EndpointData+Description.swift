// Endpoints print as they read in proxy strings, as Ice's `Endpoint.toString()` does
// (`ssl -h 127.0.0.1 -p 4063 -t 60000 -z`); FloeCore's proxy strings are made of these.

extension EndpointData: CustomStringConvertible {
    public var description: String {
        switch self {
        case .ip(let ip): ip.description
        case .udp(let udp): udp.description
        case .opaque(let opaque): opaque.description
        }
    }
}

extension IPEndpointData: CustomStringConvertible {
    /// (A udp adapter's published endpoint is an `IPEndpointData` too: printed in udp's form.)
    public var description: String {
        guard transport != .udp else { return EndpointData(self).description }
        var text = "\(transport.name)\(ProxyText.hostOption(host)) -p \(port)"
        if !sourceAddress.isEmpty { text += " --sourceAddress \(sourceAddress)" }
        text += timeout == -1 ? " -t infinite" : " -t \(timeout)"
        if compress { text += " -z" }
        // Quoted when it holds a blank, ':' or '@' (ZeroC quotes ':'), so it reads back.
        if hasResource { text += " -r " + ProxyText.quotedIfNeeded(resource) }
        return text
    }
}

extension UDPEndpointData: CustomStringConvertible {
    public var description: String { "udp\(ProxyText.hostOption(host)) -p \(port)" + (compress ? " -z" : "") }
}

extension OpaqueEndpointData: CustomStringConvertible {
    public var description: String { "opaque -t \(type) -e \(encoding) -v \(ProxyText.base64(bytes))" }
}

/// What proxy strings and endpoint strings share.
package enum ProxyText {
    /// ` -h HOST`, quoted when it holds colons; nothing for an endpoint that names no host (as
    /// ZeroC prints it: such a proxy reaches `Ice.Default.Host`, else this machine).
    package static func hostOption(_ host: String) -> String {
        host.isEmpty ? "" : " -h " + (host.contains(":") ? "\"\(host)\"" : host)
    }

    package static func quotedIfNeeded(_ text: String) -> String {
        text.contains(where: { $0 == " " || $0 == ":" || $0 == "@" || $0 == "\t" }) ? "\"\(text)\"" : text
    }

    package static func base64(_ bytes: [UInt8]) -> String {
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
