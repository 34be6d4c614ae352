import SliceAST

extension SwiftGenerator {
    /// The Swift type of a Slice type. Class instances and proxies are optionals (nil is null).
    func swiftType(_ type: ResolvedType) -> String {
        switch type {
        case .builtin(let b):
            switch b {
            case .bool: return std("Bool")
            case .byte: return std("UInt8")
            case .short: return std("Int16")
            case .int: return std("Int32")
            case .long: return std("Int64")
            case .float: return std("Float")
            case .double: return std("Double")
            case .string: return std("String")
            case .object, .value, .localObject: return "\(rt("Value"))?"
            }
        case .proxy(let name):
            return "(any \(proxyName(name)))?"
        case .user(let name, let kind):
            switch kind {
            case .class: return typeName(name) + "?"
            case .interface: return "\(rt("Value"))?"
            default: return typeName(name)
            }
        }
    }

    /// The Swift type of a sequence of `element`: `Data` for bytes, as in ZeroC's Swift mapping
    /// (and so a received byte sequence can share the message's storage), an array otherwise.
    func sequenceType(_ element: ResolvedType) -> String {
        element == .builtin(.byte) ? "Foundation.Data" : "[\(swiftType(element))]"
    }

    /// The Swift name of an enumerator: its Slice name, except for the runtime's hand-written
    /// `OperationMode`, whose cases are `normal`, `nonmutating` and `idempotent`.
    func enumeratorName(_ enumType: String, _ name: String) -> String {
        guard enumType == "::Ice::OperationMode", options.iceModule == nil, let first = name.first else {
            return swiftName(name)
        }
        return first.lowercased() + name.dropFirst()
    }

    /// The value a member or result has when nothing else is said.
    func zeroValue(_ type: ResolvedType) -> String {
        switch type {
        case .builtin(let b):
            switch b {
            case .bool: return "false"
            case .string: return "\"\""
            case .object, .value, .localObject: return "nil"
            default: return "0"
            }
        case .proxy: return "nil"
        case .user(let name, let kind):
            switch kind {
            case .class, .interface, .exception: return "nil"
            case .struct: return typeName(name) + "()"
            case .enum:
                let first =
                    index.enums[name]?.enumerators.first.map { enumeratorName(name, $0.info.name.name) } ?? "init()"
                return typeName(name) + "." + first
            case .sequence: return index.isByteSequence(name) ? "Foundation.Data()" : "[]"
            case .dictionary: return "[:]"
            }
        }
    }

    /// A Swift literal for a folded constant of `type`.
    func literal(_ value: ConstantValue, type: ResolvedType) -> String {
        switch value {
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i):
            if case .builtin(.float) = type { return "\(Float(i))" }
            if case .builtin(.double) = type { return "\(Double(i))" }
            return i == Int64.min ? std("Int64") + ".min" : "\(i)"
        case .float(let d):
            // (A float constant past Float's range is infinite, with its sign.)
            let sign = d < 0 ? "-" : ""
            if case .builtin(.float) = type {
                return Float(d).isFinite ? "\(Float(d))" : sign + std("Float") + ".infinity"
            }
            return d.isFinite ? "\(d)" : sign + std("Double") + ".infinity"
        case .string(let s): return swiftStringLiteral(s)
        case .enumerator(let enumType, let name, _): return typeName(enumType) + "." + enumeratorName(enumType, name)
        }
    }

    /// An expression reading a value of `type` from `stream` (an `inout InputStream`).
    func readExpression(_ type: ResolvedType, stream: String = "istr") -> String {
        switch type {
        case .builtin(let b) where b == .object || b == .value || b == .localObject:
            return "try \(stream).readValue()"
        case .builtin:
            return "try \(stream).read(\(swiftType(type)).self)"
        case .proxy(let name):
            return "try \(stream).read((any \(proxyName(name))).self)"
        case .user(let name, let kind):
            switch kind {
            case .class: return "try \(stream).read(\(typeName(name)).self)"
            case .interface: return "try \(stream).readValue()"
            case .sequence, .dictionary:
                return index.isStreamCodable(type)
                    ? "try \(typeName(name))(from: &\(stream))"
                    : "try \(typeName(name, suffix: "Helper")).read(from: &\(stream))"
            default: return "try \(typeName(name))(from: &\(stream))"
            }
        }
    }

    /// A statement writing `value` of `type` to `stream` (an `inout OutputStream`).
    func writeStatement(_ type: ResolvedType, _ value: String, stream: String = "ostr") -> String {
        switch type {
        case .builtin(let b) where b == .object || b == .value || b == .localObject:
            return "\(stream).write(\(value))"
        case .builtin:
            return "\(stream).write(\(value))"
        case .proxy:
            return "\(stream).write(\(value))"
        case .user(let name, let kind):
            switch kind {
            case .class, .interface: return "\(stream).write(\(value))"
            case .sequence, .dictionary:
                return index.isStreamCodable(type)
                    ? "\(value).encode(to: &\(stream))"
                    : "\(typeName(name, suffix: "Helper")).write(\(value), to: &\(stream))"
            default: return "\(value).encode(to: &\(stream))"
            }
        }
    }

    /// An expression reading the optional value with `tag` (nil when absent).
    func readTaggedExpression(_ type: ResolvedType, tag: Int, stream: String = "istr") -> String {
        switch type {
        case .builtin(let b) where b == .object || b == .value || b == .localObject:
            return "try \(stream).readValue(tag: \(tag))"
        case .user(_, .class), .user(_, .interface):
            return "try \(stream).readValue(tag: \(tag)) as? \(swiftType(type).dropLast())"
        case .proxy(let name):
            return "try \(stream).read(tag: \(tag), (any \(proxyName(name))).self)"
        case .user(let name, .sequence), .user(let name, .dictionary):
            return index.isStreamCodable(type)
                ? "try \(stream).read(tag: \(tag), \(typeName(name)).self)"
                : "try \(typeName(name, suffix: "Helper")).read(from: &\(stream), tag: \(tag))"
        default:
            return "try \(stream).read(tag: \(tag), \(swiftType(type)).self)"
        }
    }

    /// A statement writing the optional `value` with `tag` when it is set.
    func writeTaggedStatement(_ type: ResolvedType, _ value: String, tag: Int, stream: String = "ostr") -> String {
        switch type {
        case .builtin(let b) where b == .object || b == .value || b == .localObject:
            return "\(stream).write(tag: \(tag), value: \(value))"
        case .user(_, .class), .user(_, .interface):
            return "\(stream).write(tag: \(tag), value: \(value))"
        case .user(let name, .sequence) where !index.isStreamCodable(type),
            .user(let name, .dictionary) where !index.isStreamCodable(type):
            return "\(typeName(name, suffix: "Helper")).write(\(value), to: &\(stream), tag: \(tag))"
        default:
            return "\(stream).write(tag: \(tag), \(value))"
        }
    }

    /// Whether the Swift type of an optional member or parameter is already an optional.
    /// The proxy protocol for `Name*`: `NamePrx` for an interface, and for a class with
    /// operations (deprecated, as ZeroC's 3.7 mapping has it); `ObjectPrx` for `Object*` and for a
    /// class without operations.
    func proxyName(_ scopedName: String) -> String {
        if scopedName == "::Ice::Object" { return "\(rt("ObjectPrx"))" }
        if index.classes[scopedName] != nil, !index.classHasOperations(scopedName) { return "\(rt("ObjectPrx"))" }
        return typeName(scopedName, suffix: "Prx")
    }

    func isNullable(_ type: ResolvedType) -> Bool { swiftType(type).hasSuffix("?") }
}
