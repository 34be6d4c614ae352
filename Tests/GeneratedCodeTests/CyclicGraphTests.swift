import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import Synchronization
import Testing

/// Server-side nodes, counted while alive.
final class CountedNode: Node {
    static let live = Atomic<Int>(0)
    required init() {
        super.init()
        Self.live.add(1, ordering: .relaxed)
    }
    deinit { Self.live.subtract(1, ordering: .relaxed) }
}

/// The test's classes, with `Node` made a `CountedNode`.
struct CountingLoader: SliceLoader {
    let loader = Vectors_SliceLoader()
    func newValue(typeId: String) -> Value? {
        typeId == Node.ice_staticId() ? CountedNode() : loader.newValue(typeId: typeId)
    }
    func newException(typeId: String) -> (any UserException)? { loader.newException(typeId: typeId) }
    func typeId(forCompactId id: Int) -> String? { loader.typeId(forCompactId: id) }
}

/// Keeps what it receives.
actor KeeperServant: Keeper {
    private var kept: [Node] = []

    func keep(n: sending Node?, current: Current) async throws {
        if let n { kept.append(n) }
    }

    func cycleLengths(current: Current) async throws -> IntSeq {
        kept.map { start in
            var length: Int32 = 1
            var node = start.next
            while let current = node, current !== start, length < 1000 {
                length += 1
                node = current.next
            }
            return node === start ? length : -1
        }
    }
}

/// Answers every request with an empty result followed by a tagged cyclic value nobody asked for.
struct CyclicTrailerServant: Dispatcher {
    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        let a = Node(value: 1, next: nil)
        a.next = Node(value: 2, next: a)
        return try request.current.makeResponse { ostr in ostr.write(tag: 1, value: a) }
    }
}

/// Received graphs with cycles are freed (issue 13, item 3): reference counting alone never
/// frees a cycle, and a peer chooses what it sends.
@Suite("Cyclic graphs", .serialized, .timeLimit(.minutes(2)))
struct CyclicGraphTests {
    /// A server hosting `servant` as "it" over TCP, and a client communicator, each with its
    /// own loader (the counting one on the side under test).
    private static func serve(
        _ servant: any Dispatcher, serverLoader: any SliceLoader = CountingLoader(),
        clientLoader: any SliceLoader = Vectors_SliceLoader()
    ) async throws -> (server: Communicator, client: Communicator, proxy: String) {
        let server = Communicator(sliceLoader: serverLoader, transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: servant, id: Identity(name: "it"))
        try await adapter.activate()
        let port = adapter.publishedEndpoints.first?.port ?? 0
        let client = Communicator(sliceLoader: clientLoader, transport: NIOTransport())
        return (server, client, "it:tcp -h 127.0.0.1 -p \(port)")
    }

    private static func serverAndClient() async throws -> (Communicator, TesterServant, Communicator, any TesterPrx) {
        let servant = TesterServant()
        let (server, client, proxy) = try await serve(servant)
        let tester = try makeProxy(communicator: client, proxyString: proxy, type: (any TesterPrx).self)
        return (server, servant, client, tester)
    }

    /// a → b → c → a
    private static func cycle() -> Node {
        let a = Node(value: 1, next: nil)
        a.next = Node(value: 2, next: Node(value: 3, next: a))
        return a
    }

    /// Breaks a cycle this test made or received, so that only the server's nodes are counted.
    private static func unlink(_ node: Node?) {
        var next = node
        while let current = next {
            next = current.next
            current.next = nil
        }
    }

    @Test func tenThousandCyclicRequestsLeaveNothingBehind() async throws {
        let (server, _, client, tester) = try await Self.serverAndClient()
        let before = CountedNode.live.load(ordering: .relaxed)
        for _ in 0..<10_000 {
            // (What the client sends is its own graph and leaks here; only the server's count.)
            let echoed = try await tester.opNode(Self.cycle())
            #expect(echoed?.next?.next?.next === echoed)
            Self.unlink(echoed)
        }
        // The replies are written before the dispatch lets go of its graph.
        #expect(await eventually { CountedNode.live.load(ordering: .relaxed) == before })
        #expect(CountedNode.live.load(ordering: .relaxed) == before, "nodes left alive on the server")
        await client.destroy()
        await server.destroy()
    }

    @Test func aServantThatKeepsAGraphKeepsItWhole() async throws {
        let (server, client, proxy) = try await Self.serve(KeeperServant())
        let keeper = try makeProxy(communicator: client, proxyString: proxy, type: (any KeeperPrx).self)
        for _ in 0..<3 { try await keeper.keep(Self.cycle()) }
        #expect(try await keeper.cycleLengths() == [3, 3, 3])
        await client.destroy()
        await server.destroy()
    }

    /// Cyclic values an operation does not expect (a trailing tagged class value, even on
    /// `ping`), and the half-built graph of a failed decode, are freed.
    @Test func unexpectedAndHalfDecodedCyclesAreFreed() async throws {
        let (server, _, client, tester) = try await Self.serverAndClient()
        let before = CountedNode.live.load(ordering: .relaxed)
        for _ in 0..<100 {
            let sent = Self.cycle()
            try await tester._invoke(
                operation: "ping", mode: .normal, context: nil, returnsData: false,
                write: { ostr in ostr.write(tag: 1, value: sent) }, read: { _ in })
            // The server fails the request (unknown local exception: status 5).
            await #expect(throws: DispatchError.self) {
                try await tester._invoke(
                    operation: "opNode", mode: .normal, context: nil, returnsData: true,
                    write: { ostr in
                        ostr.write(sent)
                        ostr.write(tag: 2, value: sent)
                        ostr.write(UInt8(0x17))  // tag 2, a class: a reference to an instance never sent
                        ostr.write(UInt8(40))
                    }, read: { _ in }
                ) as Void
            }
            Self.unlink(sent)
        }
        #expect(await eventually { CountedNode.live.load(ordering: .relaxed) == before })
        #expect(CountedNode.live.load(ordering: .relaxed) == before, "nodes left alive on the server")
        await client.destroy()
        await server.destroy()
    }

    /// A client frees the cyclic values of a reply that its results do not reach.
    @Test func aClientFreesCyclesItsResultsDoNotReach() async throws {
        let (server, client, proxy) = try await Self.serve(
            CyclicTrailerServant(), serverLoader: Vectors_SliceLoader(), clientLoader: CountingLoader())
        let tester = try makeProxy(communicator: client, proxyString: proxy, type: (any TesterPrx).self)
        let before = CountedNode.live.load(ordering: .relaxed)
        for _ in 0..<100 { try await tester.ping() }
        #expect(CountedNode.live.load(ordering: .relaxed) == before, "nodes left alive on the client")
        await client.destroy()
        await server.destroy()
    }
}
