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

    static func format(_ endpoint: EndpointData) -> String { endpoint.description }

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

    static func quoteIfNeeded(_ text: String) -> String { ProxyText.quotedIfNeeded(text) }
}
