import FloeEncoding
public import FloeProtocol

extension ObjectPrx {
    /// Checks that the object exists and is reachable.
    public func ice_ping(context: Context? = nil) async throws {
        try await _invoke(
            operation: "ice_ping", mode: .nonmutating, context: context, returnsData: false, write: { _ in },
            read: { _ in })
    }

    /// Whether the object implements the interface with type id `id`.
    public func ice_isA(id: String, context: Context? = nil) async throws -> Bool {
        try await _invoke(
            operation: "ice_isA", mode: .nonmutating, context: context, returnsData: true, write: { $0.write(id) },
            read: { try $0.read(Bool.self) })
    }

    /// What a generated `checkedCast` asks: whether the object implements the interface `id`.
    /// A missing facet answers false, so the cast gives nil, as ZeroC's `checkedCast` does; a
    /// missing object still throws.
    public func _isAForCheckedCast(id: String, context: Context?) async throws -> Bool {
        do {
            return try await ice_isA(id: id, context: context)
        } catch let error as DispatchError where error.status == .facetNotExist {
            return false
        }
    }

    /// The type id of the object's most-derived interface.
    public func ice_id(context: Context? = nil) async throws -> String {
        try await _invoke(
            operation: "ice_id", mode: .nonmutating, context: context, returnsData: true, write: { _ in },
            read: { try $0.read(String.self) })
    }

    /// Every type id the object implements, sorted.
    public func ice_ids(context: Context? = nil) async throws -> [String] {
        try await _invoke(
            operation: "ice_ids", mode: .nonmutating, context: context, returnsData: true, write: { _ in },
            read: { try [String](from: &$0) })
    }
}

extension Current {
    /// A non-idempotent operation must be invoked with mode Normal (Ice 3.8's rule, which
    /// never rejects what a 3.7 client with matching Slice sends).
    public func checkNonIdempotent() throws {
        guard mode == .normal else {
            throw LocalError(
                .marshal, "operation '\(operation)' is not idempotent but was invoked with mode \(mode)")
        }
    }
}
