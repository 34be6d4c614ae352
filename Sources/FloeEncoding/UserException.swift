/// A Slice `exception`, adopted by the root class of each generated exception hierarchy.
///
/// Generated exceptions are classes so that `catch let e as BaseError` also catches every
/// derived exception, as Slice inheritance promises. They are filled in after construction
/// while decoding; do not mutate one after throwing it.
public protocol UserException: AnyObject, Error, Sendable {
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
