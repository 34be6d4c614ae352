import Floe

/// Calls `EchoContext` through a collocated adapter; returns the echoed value and whether the
/// declared exception came back typed.
public func exerciseClashingNames() async throws -> (value: Int32, typedException: Bool) {
    // Clash.ice's loader alone, by the name the plugin gives it beside Clash.swift.
    let communicator = Communicator(sliceLoader: Clash_ice_SliceLoader())
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

/// A servant of `Names`, whose operations and parameters are named like the dispatch code's
/// own locals.
struct NamesServant: Names {
    func current(current value: Int32, current: FloeCore.Current) async throws {}
    func request(request: Int32, current: FloeCore.Current) async throws -> (returnValue: Int32, response: Int32) {
        (request, request + 1)
    }
    func proxy(context: String, communicator: String, current: FloeCore.Current) async throws -> String {
        context + communicator
    }
    func stream(stream: Streams, current: FloeCore.Current) async throws -> Int32 {
        stream.istr + stream.ostr + stream.description + stream.hash + Int32(stream.hashValue.count)
    }
    func makeLink(slicedData: sending Link?, seq: sending LinkSeq, map: sending LinkMap, current: FloeCore.Current)
        async throws -> sending Link?
    {
        slicedData?.next = seq.first ?? nil
        return slicedData
    }
    func `self`(`self`: Kinds, current: FloeCore.Current) async throws -> Kinds {
        `self` == .`init` ? .rawValue : .`Type`
    }
    func result(result: Int32, current: FloeCore.Current) async throws -> (_returnValue: Int32, returnValue: Int32) {
        (result, -result)
    }
    func returnValue(current: FloeCore.Current) async throws -> (returnValue: Int32, result: Int32) { (1, 2) }
}

/// Calls `NamesServant` from another communicator over tcp, so every value is marshalled both
/// ways; returns what came back, as one line.
public func exerciseCollidingMemberNames() async throws -> String {
    let communicator = Communicator()
    let adapter = try await communicator.createObjectAdapterWithEndpoints(
        name: "Names", endpoints: "tcp -h 127.0.0.1 -p 0")
    let proxy = try adapter.add(servant: NamesServant(), id: FloeCore.Identity(name: "names"))
    try await adapter.activate()
    let client = Communicator()
    defer { Task { await client.destroy() } }
    let names = try makeProxy(communicator: client, proxyString: proxy.description, type: (any NamesPrx).self)
    try await names.current(1)
    let request = try await names.request(5)
    let joined = try await names.proxy(context: "a", communicator: "b")
    let sum = try await names.stream(Streams(istr: 1, ostr: 2, hashValue: "xyz", description: 4, hash: 5))
    let link = Link(next: nil, slicedData: "kept", description: "d")
    let linked = try await names.makeLink(
        slicedData: link, seq: [Link(next: nil, slicedData: "first", description: "")], map: [:])
    let kind = try await names.`self`(.`init`)
    let result = try await names.result(3)
    let returnValue = try await names.returnValue()
    await communicator.destroy()
    return
        "\(request.returnValue),\(request.response) \(joined) \(sum) \(linked?.slicedData ?? "")>\(linked?.next?.slicedData ?? "") \(kind) \(result._returnValue),\(result.returnValue) \(returnValue.returnValue),\(returnValue.result)"
}

/// A servant of `Shapes` (see more-names.ice).
struct ShapesServant: Shapes {
    func Shape(current: FloeCore.Current) async throws {}
    func get(k: Shape, p: Pt, current: FloeCore.Current) async throws -> (returnValue: Shape, self: Int32, init: Int32)
    {
        guard p.reader >= 0 else { throw Invalid(type: "negative", reason: "reader \(p.reader)") }
        return (k == .round ? .square : .round, p.reader, p.writer)
    }
}

/// Calls `ShapesServant` from another communicator over tcp; returns what came back, as one line.
public func exerciseMoreNames() async throws -> String {
    let communicator = Communicator()
    let adapter = try await communicator.createObjectAdapterWithEndpoints(
        name: "Shapes", endpoints: "tcp -h 127.0.0.1 -p 0")
    let proxy = try adapter.add(servant: ShapesServant(), id: FloeCore.Identity(name: "shapes"))
    try await adapter.activate()
    let client = Communicator()  // (the generated proxy registers its file's loader)
    let shapes = try makeProxy(communicator: client, proxyString: proxy.description, type: (any ShapesPrx).self)
    try await shapes.Shape()
    // (`got.self` would be the whole tuple: a label `self` is read by position.)
    let (shape, reader, writer) = try await shapes.get(k: .round, p: Pt(reader: 3, writer: 4))
    var invalid = ""
    do {
        _ = try await shapes.get(k: .round, p: Pt(reader: -1, writer: 0))
    } catch let error as Invalid {
        invalid = error.type + " " + error.reason
    }
    await client.destroy()
    await communicator.destroy()
    return "\(shape) \(reader) \(writer) \(invalid)"
}
