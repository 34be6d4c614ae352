import FloeCore
import FloeEncoding
import FloeProtocol
import Foundation
import NIOConcurrencyHelpers

/// The Tester servant of the vector captures (../shared/vectors/capture/server.py), in Swift.
actor TesterServant: Tester {
    private(set) var onewayMessages: [String] = []

    /// The most pings that ran at once.
    private(set) var mostConcurrentPings = 0
    /// Pings running now, and pings started so far.
    private(set) var runningPings = 0
    private(set) var pings = 0
    /// Pings whose sleep ended because their dispatch was cancelled.
    private(set) var cancelledPings = 0

    /// Busy pings (below) whose dispatch was cancelled while they worked on.
    nonisolated let cancelledBusyPings = NIOLockedValueBox(0)

    /// Sleeps for the seconds in the context's "sleep" entry, like the Python peer; works for
    /// the seconds in its "busy" entry whatever happens to its dispatch, as a servant that
    /// finishes what it started does.
    func ping(current: Current) async throws {
        runningPings += 1
        pings += 1
        mostConcurrentPings = max(mostConcurrentPings, runningPings)
        defer { runningPings -= 1 }
        if let seconds = current.ctx["busy"].flatMap(Double.init) {
            let work = Task.detached { try? await Task.sleep(for: .milliseconds(Int(seconds * 1000))) }
            let cancelled = cancelledBusyPings
            await withTaskCancellationHandler {
                await work.value
            } onCancel: {
                cancelled.withLockedValue { $0 += 1 }
            }
        }
        if let seconds = current.ctx["sleep"].flatMap(Double.init) {
            do {
                try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            } catch {
                cancelledPings += 1
                throw error
            }
        }
    }

    func opPrimitives(
        b: Bool, y: UInt8, s: Int16, i: Int32, l: Int64, f: Float, d: Double, str: String, current: Current
    ) async throws -> (returnValue: String, dout: Double) {
        ("\(b ? "True" : "False")|\(y)|\(s)|\(i)|\(l)|\(f)|\(d)|\(str)", d * 2)
    }

    /// Echoes `seq`, or answers the number of bytes given in the context's "reply-size" entry
    /// (a small request with a large reply, as a client that never reads would send).
    func opByteSeq(seq: ByteSeq, current: Current) async throws -> ByteSeq {
        byteSeqCalls += 1
        guard let size = current.ctx["reply-size"].flatMap(Int.init) else { return seq }
        return ByteSeq([UInt8](repeating: 7, count: size))
    }

    private(set) var byteSeqCalls = 0

    func opStruct(p: Point, q: Person, current: Current) async throws -> (returnValue: Point, r: Person) {
        (Point(x: p.y, y: p.x), Person(name: q.name.uppercased(), age: q.age + 1, color: .Blue))
    }

    func opEnum(c: Color, s: Sparse, current: Current) async throws -> (returnValue: Color, so: Sparse) { (c, s) }

    func opDict(d: StringIntDict, current: Current) async throws -> StringIntDict { d.mapValues { $0 * 10 } }

    func opOptional(
        i: Int32?, s: String?, p: Point?, seq: IntSeq?, c: Color?, d: StringIntDict?, current: Current
    ) async throws -> (returnValue: Int32?, so: String?) {
        guard let i else { return (nil, nil) }
        return (i + 1, s)
    }

    func opNode(n: sending Node?, current: Current) async throws -> sending Node? { n }
    func opNodeSliced(n: sending Node?, current: Current) async throws -> sending Node? { n }
    func opBaseSeq(s: sending BaseSeq, current: Current) async throws -> sending BaseSeq { s }
    func opBaseSeqCompact(s: sending BaseSeq, current: Current) async throws -> sending BaseSeq { s }

    func opUnknownSlice(current: Current) async throws -> sending Base? {
        Hidden(b: "base-part", d: 42, secret: "hidden-part")
    }

    func opCompact(c: sending Compact?, current: Current) async throws -> sending Compact? {
        Compact(v: (c?.v ?? 0) + 1)
    }

    func opWithOptional(w: sending WithOptional?, current: Current) async throws -> sending WithOptional? { w }

    func opThrow(code: Int32, current: Current) async throws {
        if code == 0 { throw BaseError(reason: "base reason") }
        throw DerivedError(reason: "derived reason", code: code)
    }

    func opThrowSliced(code: Int32, current: Current) async throws {
        if code == 0 { throw BaseError(reason: "base reason") }
        if code == 1 { throw DerivedError(reason: "derived reason", code: code) }
        throw HiddenError(reason: "hidden reason", code: code, extra: "extra data")
    }

    struct Boom: Error {}

    func opUndeclared(kind: Int32, current: Current) async throws {
        switch kind {
        case 0: throw Boom()
        case 1: throw OtherError(what: "not declared")
        case 2: throw DispatchError(status: .unknownLocalException, message: "a local exception text")
        case 3: throw DispatchError(status: .unknownUserException, message: "a user exception text")
        default: throw DispatchError(status: .unknownException, message: "an unknown exception text")
        }
    }

    func opProxy(p1: (any ObjectPrx)?, p2: (any ObjectPrx)?, p3: (any ObjectPrx)?, current: Current) async throws
        -> (any ObjectPrx)?
    { p1 }

    func opContext(key: String, current: Current) async throws -> String { current.ctx[key] ?? "" }
    func opIdempotent(current: Current) async throws -> Int32 { 7 }

    func opIdempotentFail(current: Current) async throws {
        throw DispatchError(status: .unknownLocalException, message: "transient failure")
    }

    func opOneway(s: String, current: Current) async throws { onewayMessages.append(s) }
    func closeConnection(current: Current) async throws {}
    func shutdown(current: Current) async throws {}

    func opStringSeq(s: StringSeq, current: Current) async throws -> (returnValue: StringSeq, reversed: StringSeq) {
        (s, s.reversed())
    }

    func opDoubleSeq(s: DoubleSeq, current: Current) async throws -> DoubleSeq { s }
    func opPersonSeq(s: PersonSeq, current: Current) async throws -> PersonSeq { s }
    func onewaysReceived(current: Current) async throws -> StringSeq { onewayMessages }

    func opCallback(cb: (any TesterPrx)?, current: Current) async throws -> Int32 {
        guard let cb, let connection = current.con else {
            throw DispatchError(status: .unknownLocalException, message: "no callback proxy or no connection")
        }
        return try await cb.ice_fixed(connection).opIdempotent() + 1
    }

    func opCallbackThrough(cb: (any TesterPrx)?, current: Current) async throws -> Int32 {
        guard let cb else { throw DispatchError(status: .unknownLocalException, message: "no callback proxy") }
        return try await cb.opIdempotent() + 2
    }
}

/// A communicator hosting a `TesterServant` as "tester", and a typed proxy to it.
struct Collocated {
    let communicator: Communicator
    let servant: TesterServant
    let tester: any TesterPrx

    init() async throws {
        communicator = Communicator(
            sliceLoader: CompositeSliceLoader([Vectors_SliceLoader(), ServerOnly_SliceLoader()]))
        let adapter = try await communicator.createObjectAdapter(name: "Test")
        servant = TesterServant()
        let proxy = try adapter.add(servant: servant, id: Identity(name: "tester"))
        try await adapter.activate()
        tester = uncheckedCast(prx: proxy, type: (any TesterPrx).self)
    }
}
