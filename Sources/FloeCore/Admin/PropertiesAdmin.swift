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
            communicator.logger.info(
                "properties changed through the Properties admin facet: \(changes.keys.sorted().joined(separator: ", "))"
            )
            communicator.setProperties(changes)
            return try request.makeResponse()
        default:
            if let response = try dispatchBuiltin(request, traits: PropertiesAdminTraits.self) { return response }
            throw DispatchError.operationNotExist(request.current)
        }
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
