import Floe

/// A servant whose Slice types shadow the runtime's `Value`, `Current` and friends: in this
/// module the runtime's own are written with their module's name.
actor EchoContext: Context {
    func echo(v: sending Value?, c: Current, r: Reply, i: InputStream, current: FloeCore.Current) async throws
        -> sending Value?
    {
        if c.s == "fail" { throw Dispatcher(why: "asked to fail") }
        v?.v += r.code + i.a
        return v
    }
}

/// Calls `EchoContext` through a collocated adapter; returns the echoed value and whether the
/// declared exception came back typed.
public func exerciseClashingNames() async throws -> (value: Int32, typedException: Bool) {
    let communicator = Communicator()
    let adapter = try await communicator.createObjectAdapter(name: "Clash")
    let proxy = try adapter.add(servant: EchoContext(), id: FloeCore.Identity(name: "echo"))
    try await adapter.activate()
    let context = uncheckedCast(prx: proxy, type: (any ContextPrx).self)
    let echoed = try await context.echo(v: Value(v: 1), c: Current(s: "ok"), r: Reply(code: 10), i: InputStream(a: 100))
    var typed = false
    do {
        _ = try await context.echo(v: nil, c: Current(s: "fail"), r: Reply(), i: InputStream())
    } catch let error as Dispatcher {
        typed = error.why == "asked to fail"
    }
    await communicator.destroy()
    return (echoed?.v ?? 0, typed)
}
