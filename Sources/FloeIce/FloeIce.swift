public import FloeCore

/// The types of Slice module `Ice` that Floe generates from its own `Slice/Ice` files: the
/// built-in sequences, `Locator`, `LocatorRegistry`, `Process`, `PropertiesAdmin` and `Router` with their proxies, `SliceChecksumDict`,
/// servant protocols and exceptions. (Identity, Context, OperationMode and the versions are
/// hand-written in the runtime, which uses them itself.) Code that slice2floe generates from
/// Slice including these files imports this module.
///
/// Kept apart from `FloeCore` so that `import FloeCore` does not bring a `Process` protocol
/// next to Foundation's `Process`.
public struct FloeIce_SliceLoader: SliceLoader {
    private let loaders: CompositeSliceLoader

    public init() {
        loaders = CompositeSliceLoader([Locator_SliceLoader()])
    }

    public func newValue(typeId: String) -> Value? { loaders.newValue(typeId: typeId) }
    public func newException(typeId: String) -> (any UserException)? { loaders.newException(typeId: typeId) }
    public func typeId(forCompactId id: Int) -> String? { loaders.typeId(forCompactId: id) }
}
