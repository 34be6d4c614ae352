import FloeEncoding
import Logging

/// Ice's `Properties` admin facet (`::Ice::PropertiesAdmin`), written by hand as `ProcessFacet`
/// is: an operator reads a running server's configuration and changes it. Changes reach the
/// communicator's `properties` and its `onPropertiesUpdate` callbacks; what was read when
/// something was created (adapters, connection options) keeps its value, as in Ice.
struct PropertiesFacet: Dispatcher {
    let communicator: Communicator

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        switch request.current.operation {
        case "getProperty":
            let key = try request.readParameters { try $0.read(String.self) }
            let value = communicator.properties[key] ?? ""
            return try request.makeResponse { $0.write(value) }
        case "getPropertiesForPrefix":
            let prefix = try request.readParameters { try $0.read(String.self) }
            let found = communicator.properties.withPrefix(prefix)
            return try request.makeResponse { found.encode(to: &$0) }
        case "setProperties":
            let changes = try request.readParameters { try [String: String](from: &$0) }
            communicator.logger.info("properties changed through the Properties admin facet: \(Self.named(changes))")
            communicator.setProperties(changes)
            return try request.makeResponse()
        default:
            if let response = try dispatchBuiltin(request, traits: PropertiesAdminTraits.self) { return response }
            throw DispatchError.operationNotExist(request.current)
        }
    }
}

extension PropertiesFacet {
    /// The changed names for the log, at most 20 of at most 100 characters each: the caller
    /// chooses how many and how long.
    static func named(_ changes: [String: String]) -> String {
        let names = changes.keys.sorted()
        let shown = names.prefix(20).map { $0.count > 100 ? "\($0.prefix(100))…" : $0 }.joined(separator: ", ")
        return names.count > 20 ? "\(shown) and \(names.count - 20) more" : shown
    }
}

struct PropertiesAdminTraits: SliceTraits {
    static let staticId = "::Ice::PropertiesAdmin"
    static let staticIds = ["::Ice::Object", "::Ice::PropertiesAdmin"]
}

extension IncomingRequest {
    /// The in-parameters of a hand-written facet's operation, read by `read` from their
    /// encapsulation, which must hold nothing more.
    func readParameters<T>(_ read: (inout InputStream) throws -> T) throws -> T {
        var stream = makeInputStream()
        try stream.startEncapsulation()
        let value = try read(&stream)
        try stream.endEncapsulation()
        return value
    }
}
