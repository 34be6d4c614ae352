import FloeEncoding
import FloeProtocol
import NIOCore

/// The calls Floe makes on `::Ice::Locator` and `::Ice::LocatorRegistry`, encoded here by hand:
/// FloeCore cannot use the generated proxies of FloeIce, which depends on it. Operation names,
/// modes and parameters are the wire contract of `Slice/Ice/Locator.ice`.
struct LocatorCalls {
    /// The locator (or registry) being called.
    let target: ProxyReference

    /// The exceptions `Locator.ice` declares, by type id: decoded here with a loader of our own,
    /// so they are known whether or not FloeIce's generated code has run.
    enum Failure: Equatable {
        case adapterNotFound, objectNotFound, adapterAlreadyActive, invalidReplicaGroupId, serverNotFound
        case other(String)

        init(typeId: String) {
            switch typeId {
            case "::Ice::AdapterNotFoundException": self = .adapterNotFound
            case "::Ice::ObjectNotFoundException": self = .objectNotFound
            case "::Ice::AdapterAlreadyActiveException": self = .adapterAlreadyActive
            case "::Ice::InvalidReplicaGroupIdException": self = .invalidReplicaGroupId
            case "::Ice::ServerNotFoundException": self = .serverNotFound
            default: self = .other(typeId)
            }
        }
    }

    struct FailureError: Error { let failure: Failure }

    /// What makes a locator unreachable rather than a call wrong.
    private static let unreachable: Set<LocalError.Code> = [
        .connectionRefused, .connectTimeout, .connectionLost, .connectionTimeout, .invocationTimeout, .timeout,
        .closeConnection, .noEndpoint,
    ]

    /// `findObjectById`: a proxy for a well-known object (nil: none).
    func findObjectById(_ id: Identity) async throws -> ProxyData? {
        try await call("findObjectById", mode: .nonmutating, declares: [.objectNotFound], write: { id.encode(to: &$0) })
        {
            try $0.read(ProxyData.self)
        }
    }

    /// `findAdapterById`: a direct proxy carrying the adapter's endpoints (nil: not active).
    func findAdapterById(_ id: String) async throws -> ProxyData? {
        try await call("findAdapterById", mode: .nonmutating, declares: [.adapterNotFound], write: { $0.write(id) }) {
            try $0.read(ProxyData.self)
        }
    }

    func getRegistry() async throws -> ProxyData? {
        try await call("getRegistry", mode: .nonmutating, declares: [], write: { _ in }) { try $0.read(ProxyData.self) }
    }

    func setAdapterDirectProxy(_ id: String, _ proxy: ProxyData?) async throws {
        try await call(
            "setAdapterDirectProxy", mode: .idempotent, declares: [.adapterNotFound, .adapterAlreadyActive],
            write: {
                $0.write(id); $0.write(proxy)
            }
        ) { _ in }
    }

    func setReplicatedAdapterDirectProxy(_ id: String, group: String, _ proxy: ProxyData?) async throws {
        try await call(
            "setReplicatedAdapterDirectProxy", mode: .idempotent,
            declares: [.adapterNotFound, .adapterAlreadyActive, .invalidReplicaGroupId],
            write: {
                $0.write(id)
                $0.write(group)
                $0.write(proxy)
            }
        ) { _ in }
    }

    func setServerProcessProxy(_ id: String, _ proxy: ProxyData?) async throws {
        try await call(
            "setServerProcessProxy", mode: .idempotent, declares: [.serverNotFound],
            write: {
                $0.write(id)
                $0.write(proxy)
            }
        ) { _ in }
    }

    /// Encodes the parameters, sends the request (with the retry rules of any call) and decodes
    /// the results; an exception the operation `declares` becomes a `FailureError`, any other a
    /// `LocalError` `unknownUserException`, as Ice's `UnknownUserException` (a `FailureError` the
    /// caller did not expect reached applications as an error of an internal type).
    private func call<T>(
        _ operation: String, mode: OperationMode, declares: [Failure], write: (inout OutputStream) -> Void,
        read: (inout InputStream) throws -> T
    ) async throws -> T {
        let sent: Reply?
        do {
            sent = try await target.send(
                operation: operation, mode: mode, context: target.requestContext(nil),
                parameters: target.encapsulation(write))
        } catch let error as LocalError where Self.unreachable.contains(error.code) {
            let locator = target.communicator.proxyToString(ObjectPrxI(_reference: target))
            throw LocalError(
                .locatorUnreachable, "the locator '\(locator)' did not answer '\(operation)'", cause: error)
        }
        guard let reply = sent else { throw LocalError(.twowayOnly, "the locator proxy must be twoway") }
        guard case .encapsulation(let replyEncoding, let content) = reply.body else {
            throw DispatchError(failedReply: reply) ?? LocalError(.protocolError, "reply without a body")
        }
        var stream = InputStream(buffer: content, encoding: replyEncoding, sliceLoader: LocatorExceptions())
        stream.owner = target.communicator
        if reply.status == .userException {
            let typeId: String
            do {
                typeId = try stream.readUserException().ice_id()
            } catch {
                throw LocalError(
                    .unknownUserException,
                    "the locator answered '\(operation)' with an exception it does not declare: \(error)")
            }
            let failure = Failure(typeId: typeId)
            guard declares.contains(failure) else {
                throw LocalError(
                    .unknownUserException,
                    "the locator answered '\(operation)' with \(typeId), which it does not declare")
            }
            throw FailureError(failure: failure)
        }
        do {
            let result = try read(&stream)
            try stream.finishContent()
            return result
        } catch let error as MarshalError {
            throw LocalError(.marshal, "reply to '\(operation)' from the locator: \(error)")
        }
    }
}

extension ProxyReference {
    /// The parameters `write` encodes, as the encapsulation a request to this proxy carries
    /// (for the calls the runtime encodes by hand).
    func encapsulation(_ write: (inout OutputStream) -> Void) -> ByteBuffer {
        let encoding = data.encodingVersion
        var parameters = OutputStream(encoding: encoding)
        parameters.startEncapsulation(encoding: encoding, format: nil)
        write(&parameters)
        parameters.endEncapsulation()
        return parameters.finished()
    }
}

/// Creates the (memberless) exceptions of `Locator.ice` for `LocatorCalls`.
private struct LocatorExceptions: SliceLoader {
    func newException(typeId: String) -> (any UserException)? {
        LocatorCalls.Failure(typeId: typeId) == .other(typeId) ? nil : LocatorException(typeId: typeId)
    }
}

/// Any of those exceptions: none has data members, so one class reads them all.
private final class LocatorException: UserException, @unchecked Sendable {
    private var typeId = ""

    required init() {}

    convenience init(typeId: String) {
        self.init()
        self.typeId = typeId
    }

    static func ice_staticId() -> String { "::Ice::LocalLocatorException" }
    func ice_id() -> String { typeId }
    func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: typeId, last: true)
        stream.endSlice()
    }
    func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        try stream.endSlice()
    }
}
