/// Data that cannot be encoded or decoded: truncated or malformed bytes from a peer,
/// or a value the encoding cannot represent.
///
/// A struct with an extensible code rather than a frozen enum, so new failure kinds
/// can be added without breaking callers that switch over the codes they know.
public struct MarshalError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case truncated, invalidSize, invalidUTF8, unsupportedEncoding, invalidValue
            case encapsulation, classGraphTooDeep, noValueFactory, unknownUserException
            case invalidReference, optionalFormat
        }
        private let kind: Kind

        /// The data ends before the value it announces.
        public static let truncated = Code(kind: .truncated)
        /// A size or count is negative or larger than the bytes that remain.
        public static let invalidSize = Code(kind: .invalidSize)
        /// A string is not valid UTF-8.
        public static let invalidUTF8 = Code(kind: .invalidUTF8)
        /// An encapsulation uses an encoding version this runtime does not support.
        public static let unsupportedEncoding = Code(kind: .unsupportedEncoding)
        /// A value is out of its type's range (an enumerator, a mode, a flags byte, …).
        public static let invalidValue = Code(kind: .invalidValue)
        /// An encapsulation's size or boundaries are wrong.
        public static let encapsulation = Code(kind: .encapsulation)
        /// A class graph is nested deeper than the configured limit.
        public static let classGraphTooDeep = Code(kind: .classGraphTooDeep)
        /// A class instance in the compact format has a type this process does not know.
        public static let noValueFactory = Code(kind: .noValueFactory)
        /// A user exception whose type this process does not know and cannot slice.
        public static let unknownUserException = Code(kind: .unknownUserException)
        /// A class instance reference or indirection index that points nowhere.
        public static let invalidReference = Code(kind: .invalidReference)
        /// An optional value whose format does not match its declared type.
        public static let optionalFormat = Code(kind: .optionalFormat)

        public var description: String { kind.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \"\(message)\"" }
}
