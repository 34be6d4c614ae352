/// A Slice `exception`, adopted by the root class of each generated exception hierarchy.
///
/// Generated exceptions are classes so that `catch let e as BaseError` also catches every
/// derived exception, as Slice inheritance promises. They are filled in after construction
/// while decoding; do not mutate one after throwing it.
public protocol UserException: AnyObject, Error, Sendable, CustomStringConvertible {
    init()
    /// The Slice type id of this exception type.
    static func ice_staticId() -> String
    /// The Slice type id of the most-derived type of this instance.
    func ice_id() -> String
    /// Writes this exception's slices, most-derived first.
    func _iceWriteImpl(to stream: inout OutputStream)
    /// Reads this exception's slices, mirroring `_iceWriteImpl(to:)`.
    func _iceReadImpl(from stream: inout InputStream) throws
}

/// `print(error)`, logs and `"\(error)"` show the Slice type id and the members, base members
/// first: `::IceStorm::BadQoS(reason: "ordered reliability requires a twoway proxy")`, where
/// Swift's default would give the bare class name.
extension UserException {
    public var description: String {
        var members: [String] = []
        func collect(_ mirror: Mirror) {
            if let base = mirror.superclassMirror { collect(base) }
            for child in mirror.children {
                guard let label = child.label else { continue }
                members.append("\(label): \(Self.show(child.value))")
            }
        }
        collect(Mirror(reflecting: self))
        return ice_id() + "(" + members.joined(separator: ", ") + ")"
    }

    private static func show(_ value: Any) -> String {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return "nil" }
            return show(wrapped)
        }
        if let text = value as? String { return text.debugDescription }
        return String(describing: value)
    }
}
