import Floe

/// A servant whose Slice types are named `String`, `Int32`, `Error`, `Task`, ...: in this module
/// Swift's own are written `Swift.String`, as the generated code writes them.
struct CalendarServant: Communicator {
    func today(d: Data, r: Result, current: FloeCore.Current) async throws -> Date {
        guard r.ok else { throw Error(reason: "not ok", description: "asked to fail") }
        return Date(epoch: Swift.Int64(d.bytes.count))
    }

    func tasks(
        byName: sending Tasks, s: String, i: Int32, n: Never, x: Sendable, h: Hashable, current: FloeCore.Current
    ) async throws -> sending TaskSeq {
        byName.keys.sorted().map { byName[$0] ?? nil } + [Task(title: s.s + "\(i.i + x.s + h.h)", parent: nil)]
    }
}

/// Calls `CalendarServant` from another communicator over tcp; returns what came back, as one line.
public func exerciseStandardNames() async throws -> Swift.String {
    let communicator = Floe.Communicator()
    let adapter = try await communicator.createObjectAdapterWithEndpoints(
        name: "StdNames", endpoints: "tcp -h 127.0.0.1 -p 0")
    let proxy = try adapter.add(servant: CalendarServant(), id: FloeCore.Identity(name: "calendar"))
    try await adapter.activate()
    let client = Floe.Communicator()
    let calendar = try makeProxy(communicator: client, proxyString: proxy.description, type: (any CommunicatorPrx).self)
    let date = try await calendar.today(d: Data(bytes: .init([1, 2, 3])), r: Result(ok: true))
    var error = ""
    do {
        _ = try await calendar.today(d: Data(), r: Result(ok: false))
    } catch let failure as Error {
        error = failure.description
    }
    let tasks = try await calendar.tasks(
        byName: ["b": Task(title: "second", parent: nil), "a": Task(title: "first", parent: nil)], s: String(s: "new"),
        i: Int32(i: 1), n: .some, x: Sendable(s: 2), h: Hashable(h: 3))
    await client.destroy()
    await communicator.destroy()
    return "\(date.epoch) \(error) " + tasks.map { $0?.title ?? "nil" }.joined(separator: ",")
}
