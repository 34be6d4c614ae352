import Synchronization

/// The Slice loaders of the generated files whose proxies or servants this process has used.
///
/// Generated code registers its file's loader, with those of the files it includes, the first
/// time one of its proxies is created or one of its servants dispatches, so a communicator
/// finds the classes and exceptions of every Slice file the application works with by type
/// id, without the application combining loaders (Swift on Linux has no run-time lookup of
/// types by name, which ZeroC's Swift mapping uses). A stream asks its own `sliceLoader` (the
/// communicator's) first, then these.
///
/// A type defined only in a file whose code never ran (a derived class or exception the
/// application never names) stays unknown, as it would be to a program without that file.
public enum GeneratedSliceLoaders {
    private static let loaders = Mutex<[any SliceLoader]>([])

    /// Adds loaders (each type once); generated code calls it from a global's initializer,
    /// which runs once.
    @discardableResult
    public static func register(_ new: any SliceLoader...) -> Bool {
        loaders.withLock { loaders in
            for loader in new where !loaders.contains(where: { type(of: $0) == type(of: loader) }) {
                loaders.append(loader)
            }
        }
        return true
    }

    /// The loaders registered so far.
    static var current: [any SliceLoader] { loaders.withLock { $0 } }
}

extension InputStream {
    /// The stream's loader first, then the registered ones.
    mutating func newValue(typeId: String) -> Value? {
        if let value = sliceLoader?.newValue(typeId: typeId) { return value }
        for loader in registered() { if let value = loader.newValue(typeId: typeId) { return value } }
        return nil
    }

    mutating func newException(typeId: String) -> (any UserException)? {
        if let exception = sliceLoader?.newException(typeId: typeId) { return exception }
        for loader in registered() { if let exception = loader.newException(typeId: typeId) { return exception } }
        return nil
    }

    mutating func typeId(forCompactId id: Int) -> String? {
        if let typeId = sliceLoader?.typeId(forCompactId: id) { return typeId }
        for loader in registered() { if let typeId = loader.typeId(forCompactId: id) { return typeId } }
        return nil
    }

    private mutating func registered() -> [any SliceLoader] {
        if let registeredLoaders { return registeredLoaders }
        let current = GeneratedSliceLoaders.current
        registeredLoaders = current
        return current
    }
}
