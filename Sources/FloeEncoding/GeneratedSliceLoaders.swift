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

    private static var current: [any SliceLoader] { loaders.withLock { $0 } }

    public static func newValue(typeId: String) -> Value? {
        for loader in current { if let value = loader.newValue(typeId: typeId) { return value } }
        return nil
    }

    public static func newException(typeId: String) -> (any UserException)? {
        for loader in current { if let exception = loader.newException(typeId: typeId) { return exception } }
        return nil
    }

    public static func typeId(forCompactId id: Int) -> String? {
        for loader in current { if let typeId = loader.typeId(forCompactId: id) { return typeId } }
        return nil
    }
}
