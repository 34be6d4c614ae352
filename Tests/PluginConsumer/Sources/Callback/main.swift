import Floe
import Foundation

// A client behind ZeroC's Glacier2 router, as its callback demo has one: Glacier2's Slice from
// Debian's zeroc-ice-slice (slice-plugin.json) compiled into this target, a session, and
// callbacks from the server back through the router, twoway, oneway and batched. Also the
// server (a Floe one; Tools/scripts/glacier2.sh runs the client against a ZeroC one too).
//
//   Callback server PORT             serves "callback" on tcp -h 127.0.0.1 -p PORT
//   Callback client ROUTER SERVER    ROUTER: Glacier2's router proxy; SERVER: the server's

actor CallbackServant: Callback {
    func initiateCallback(receiver: (any CallbackReceiverPrx)?, message: String, current: Current) async throws {
        guard let receiver else { return }
        try await receiver.callback(message)
    }

    func shutdown(current: Current) async throws { await current.adapter.communicator.shutdown() }
}

actor Receiver: CallbackReceiver {
    private(set) var messages: [String] = []
    func callback(message: String, current: Current) async throws { messages.append(message) }

    /// Waits up to five seconds for `message`.
    func received(_ message: String) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while !messages.contains(message), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return messages.contains(message)
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("callback: error: \(message)\n".utf8))
    exit(1)
}

func serve(port: String) async throws {
    let communicator = Communicator()
    let adapter = try await communicator.createObjectAdapterWithEndpoints(
        name: "Callback.Server", endpoints: "tcp -h 127.0.0.1 -p \(port)")
    try adapter.add(servant: CallbackServant(), id: Identity(name: "callback"))
    try await adapter.activate()
    // (Unbuffered: print() into a file holds the line back, and the script waits for it.)
    FileHandle.standardOutput.write(Data("callback: server ready\n".utf8))
    await communicator.waitForShutdown()
    await communicator.destroy()
}

/// A session with Glacier2 (any user and password: its null permissions verifier), and the
/// category its callbacks use.
func startSession(_ router: any RouterPrx) async throws -> String {
    do {
        _ = try await router.createSession(userId: "floe", password: "any password")
    } catch let error as PermissionDeniedException {
        fail("permission denied: \(error.reason)")
    }
    return try await router.getCategoryForClient()
}

func runClient(router routerProxy: String, server: String) async throws {
    var properties = Properties()
    properties["Ice.Default.Router"] = routerProxy
    // As ZeroC advises for Glacier2 clients: a retried request could run twice on the server.
    properties["Ice.RetryIntervals"] = "-1"
    let communicator = try Communicator(properties: properties)
    defer { Task { await communicator.destroy() } }
    guard let base = communicator.getDefaultRouter(),
        let router = try await checkedCast(prx: base, type: (any RouterPrx).self)
    else { fail("\(routerProxy) is not a Glacier2 router") }
    var category = try await startSession(router)

    let adapter = try await communicator.createObjectAdapterWithRouter(name: "Receiver", router: router)
    let receiver = Receiver()
    try await adapter.activate()
    func receiverProxy(_ category: String) throws -> any CallbackReceiverPrx {
        uncheckedCast(
            prx: try adapter.add(servant: receiver, id: Identity(name: UUID().uuidString, category: category)),
            type: (any CallbackReceiverPrx).self)
    }
    guard let serverBase = try communicator.stringToProxy(server),
        let twoway = try await checkedCast(prx: serverBase, type: (any CallbackPrx).self)
    else { fail("\(server) is not a Callback server") }

    // Glacier2 reads "_fwd" to forward twoway ("t"), oneway ("o") or batched ("O").
    var receiverTwoway = try receiverProxy(category)
    try await twoway.initiateCallback(receiver: receiverTwoway, message: "twoway", context: ["_fwd": "t"])
    guard await receiver.received("twoway") else { fail("no twoway callback") }
    try await twoway.ice_oneway().initiateCallback(
        receiver: receiverTwoway.ice_oneway(), message: "oneway", context: ["_fwd": "o"])
    guard await receiver.received("oneway") else { fail("no oneway callback") }
    let batch = twoway.ice_batchOneway()
    try await batch.initiateCallback(receiver: receiverTwoway.ice_oneway(), message: "batched", context: ["_fwd": "O"])
    try await batch.ice_flushBatchRequests()
    guard await receiver.received("batched") else { fail("no batched callback") }
    print("callback: twoway, oneway and batched callbacks came back through the router")

    // Another category is not this client's: Glacier2 refuses to forward the callback.
    let fake = uncheckedCast(
        prx: receiverTwoway.ice_identity(Identity(name: "receiver", category: "fake")),
        type: (any CallbackReceiverPrx).self)
    do {
        try await twoway.initiateCallback(receiver: fake, message: "fake", context: ["_fwd": "t"])
        fail("a callback to another category went through")
    } catch {
        print("callback: a callback to another category failed: \(error)")
    }

    // A new session: Glacier2 closes the old one's connection; the next calls reconnect, the
    // adapter takes callbacks on the new connection, under the new category.
    try await router.destroySession()
    category = try await startSession(router)
    receiverTwoway = try receiverProxy(category)
    try await twoway.initiateCallback(receiver: receiverTwoway, message: "after restart", context: ["_fwd": "t"])
    guard await receiver.received("after restart") else { fail("no callback in the second session") }
    print("callback: a second session gets its callbacks too")
}

let arguments = CommandLine.arguments
do {
    switch (arguments.count, arguments.dropFirst().first) {
    case (3, "server"): try await serve(port: arguments[2])
    case (4, "client"): try await runClient(router: arguments[2], server: arguments[3])
    default: fail("usage: Callback server PORT | Callback client ROUTER SERVER")
    }
} catch {
    fail("\(error)")
}
