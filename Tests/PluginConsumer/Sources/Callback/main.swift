import Floe
import Foundation

// A client behind ZeroC's Glacier2 router, as its callback demo has one: Glacier2's Slice from
// Debian's zeroc-ice-slice (slice-plugin.json) compiled into this target, a session, and
// callbacks from the server back through the router, twoway, oneway and batched. Also the
// server (a Floe one; Tools/scripts/glacier2.sh runs the client against a ZeroC one too).
//
//   Callback server PORT             serves "callback" on tcp -h 127.0.0.1 -p PORT
//   Callback client ROUTER SERVER    ROUTER: Glacier2's router proxy; SERVER: the server's
//   Callback gatekeeper PORT         serves Glacier2's permissions verifier and session manager
//   Callback gated-client ROUTER SERVER   a client of a router that uses the gatekeeper

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

/// Glacier2's permissions verifier, implemented here: one password for every user.
struct Verifier: PermissionsVerifier {
    func checkPermissions(userId: String, password: String, current: Current) async throws -> (
        returnValue: Bool, reason: String
    ) {
        password == "open sesame" ? (true, "") : (false, "wrong password for \(userId)")
    }
}

/// Glacier2's session manager, implemented here: each session may reach only the object
/// "callback" (through the session's control object, Glacier2's filter), and says when
/// Glacier2 destroys it.
actor Sessions: SessionManager {
    func create(userId: String, control: (any SessionControlPrx)?, current: Current) async throws -> (any SessionPrx)? {
        if let identities = try await control?.identities() { try await identities.add([Identity(name: "callback")]) }
        let proxy = try current.adapter.add(servant: UserSession(user: userId), id: Identity(name: UUID().uuidString))
        return uncheckedCast(prx: proxy, type: (any SessionPrx).self)
    }
}

struct UserSession: Session {
    let user: String
    func destroy(current: Current) async throws {
        try current.adapter.remove(current.id)
        FileHandle.standardOutput.write(Data("gatekeeper: the session of \(user) was destroyed\n".utf8))
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("callback: error: \(message)\n".utf8))
    exit(1)
}

/// Serves `servants` by name on tcp -h 127.0.0.1 -p `port` until shut down, saying `ready`
/// once it listens.
func serve(_ servants: [String: any Dispatcher], port: String, ready: String) async throws {
    let communicator = Communicator()
    let adapter = try await communicator.createObjectAdapterWithEndpoints(
        name: "Server", endpoints: "tcp -h 127.0.0.1 -p \(port)")
    for (name, servant) in servants { try adapter.add(servant: servant, id: Identity(name: name)) }
    try await adapter.activate()
    // (Unbuffered: print() into a file holds the line back, and the script waits for it.)
    FileHandle.standardOutput.write(Data("\(ready)\n".utf8))
    await communicator.waitForShutdown()
    await communicator.destroy()
}

/// A communicator whose proxies go through the Glacier2 router `routerProxy`, and the router.
func routedCommunicator(_ routerProxy: String) async throws -> (Communicator, any RouterPrx) {
    var properties = Properties()
    properties["Ice.Default.Router"] = routerProxy
    // As ZeroC advises for Glacier2 clients: a retried request could run twice on the server.
    properties["Ice.RetryIntervals"] = "-1"
    let communicator = try Communicator(properties: properties)
    guard let base = communicator.getDefaultRouter(),
        let router = try await checkedCast(prx: base, type: (any RouterPrx).self)
    else { fail("\(routerProxy) is not a Glacier2 router") }
    return (communicator, router)
}

/// A session with Glacier2 (the password the gatekeeper's verifier wants; a null verifier
/// takes any), and the category its callbacks use.
func startSession(_ router: any RouterPrx) async throws -> String {
    do {
        _ = try await router.createSession(userId: "floe", password: "open sesame")
    } catch let error as PermissionDeniedException {
        fail("permission denied: \(error.reason)")
    }
    return try await router.getCategoryForClient()
}

/// Behind a router whose verifier and session manager are the gatekeeper's: a wrong password
/// is refused with the verifier's reason; a session may call "callback" and nothing else; and
/// destroying it reaches the session manager's session.
func runGatedClient(router routerProxy: String, server: String) async throws {
    let (communicator, router) = try await routedCommunicator(routerProxy)
    defer { Task { await communicator.destroy() } }
    do {
        _ = try await router.createSession(userId: "mallory", password: "guess")
        fail("a wrong password opened a session")
    } catch let error as PermissionDeniedException {
        guard error.reason.contains("wrong password for mallory") else { fail("refused for '\(error.reason)'") }
        print("callback: a wrong password was refused: \(error.reason)")
    }
    guard let session = try await router.createSession(userId: "floe", password: "open sesame") else {
        fail("the session manager returned no session")
    }
    print("callback: session \(session.ice_getIdentity().name) from the session manager")
    guard let serverBase = try communicator.stringToProxy(server),
        let callback = try await checkedCast(prx: serverBase, type: (any CallbackPrx).self)
    else { fail("\(server) is not a Callback server") }
    try await callback.initiateCallback(receiver: nil, message: "allowed")
    do {
        try await callback.ice_identity(Identity(name: "admin")).ice_ping()
        fail("the session's filter let a call to 'admin' through")
    } catch {
        print("callback: a call outside the session's filter failed: \(error)")
    }
    try await router.destroySession()
}

func runClient(router routerProxy: String, server: String) async throws {
    let (communicator, router) = try await routedCommunicator(routerProxy)
    defer { Task { await communicator.destroy() } }
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
    case (3, "server"):
        // "admin", the same servant again, for the gated client: a session restricted to
        // "callback" must not reach it.
        let servants: [String: any Dispatcher] = ["callback": CallbackServant(), "admin": CallbackServant()]
        try await serve(servants, port: arguments[2], ready: "callback: server ready")
    case (4, "client"): try await runClient(router: arguments[2], server: arguments[3])
    case (3, "gatekeeper"):
        // Glacier2's permissions verifier and session manager.
        let servants: [String: any Dispatcher] = ["verifier": Verifier(), "sessions": Sessions()]
        try await serve(servants, port: arguments[2], ready: "gatekeeper: ready")
    case (4, "gated-client"): try await runGatedClient(router: arguments[2], server: arguments[3])
    default:
        fail(
            "usage: Callback server PORT | Callback client ROUTER SERVER | Callback gatekeeper PORT | Callback gated-client ROUTER SERVER"
        )
    }
} catch {
    fail("\(error)")
}
