/// Creates class instances and user exceptions from the type ids found on the wire.
///
/// Generated code provides one per Slice file; ``SliceRegistry`` collects them by hand.
public protocol SliceLoader: Sendable {
    /// A new, empty instance of the class with this type id, or nil if unknown.
    func newValue(typeId: String) -> Value?
    /// A new, empty exception with this type id, or nil if unknown.
    func newException(typeId: String) -> (any UserException)?
    /// The type id registered for a class's compact id, or nil if unknown.
    func typeId(forCompactId id: Int) -> String?
}

extension SliceLoader {
    public func newValue(typeId: String) -> Value? { nil }
    public func newException(typeId: String) -> (any UserException)? { nil }
    public func typeId(forCompactId id: Int) -> String? { nil }
}

/// A registry of class and exception types by type id (and compact id).
public struct SliceRegistry: SliceLoader {
    private var values: [String: Value.Type] = [:]
    private var exceptions: [String: any UserException.Type] = [:]
    private var compactIds: [Int: String] = [:]

    public init() {}

    /// Registers a class, and its compact id when it has one.
    public mutating func register(_ type: Value.Type, compactId: Int? = nil) {
        values[type.ice_staticId()] = type
        if let compactId { compactIds[compactId] = type.ice_staticId() }
    }

    /// Registers a user exception.
    public mutating func register(_ type: any UserException.Type) {
        exceptions[type.ice_staticId()] = type
    }

    public func newValue(typeId: String) -> Value? { values[typeId]?.init() }
    public func newException(typeId: String) -> (any UserException)? { exceptions[typeId]?.init() }
    public func typeId(forCompactId id: Int) -> String? { compactIds[id] }
}

/// Tries several loaders in order.
public struct CompositeSliceLoader: SliceLoader {
    public var loaders: [any SliceLoader]

    public init(_ loaders: [any SliceLoader]) { self.loaders = loaders }

    public func newValue(typeId: String) -> Value? {
        for loader in loaders { if let v = loader.newValue(typeId: typeId) { return v } }
        return nil
    }
    public func newException(typeId: String) -> (any UserException)? {
        for loader in loaders { if let e = loader.newException(typeId: typeId) { return e } }
        return nil
    }
    public func typeId(forCompactId id: Int) -> String? {
        for loader in loaders { if let t = loader.typeId(forCompactId: id) { return t } }
        return nil
    }
}
