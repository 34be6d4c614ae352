import Dispatch
import FloeEncoding
import FloeProtocol
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Ice's `Process` admin facet, written by hand (FloeCore cannot use FloeIce's generated
/// servant protocol): `shutdown()` shuts the communicator down, `writeMessage(message, fd)`
/// writes to standard output (1) or error (2). A registry stops a server through it.
struct ProcessFacet: Dispatcher {
    let communicator: Communicator

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        switch request.current.operation {
        case "shutdown":
            try request.readEmptyParameters()
            communicator.logger.info("shutdown requested through the Process admin facet")
            await communicator.shutdown()  // does not wait for this dispatch: the caller gets its reply
            return try request.makeResponse()
        case "writeMessage":
            let (message, fd) = try request.readParameters { (try $0.read(String.self), try $0.read(Int32.self)) }
            // Standard output or error; any other descriptor is ignored, as ZeroC does. Written
            // whole (a NUL in the message cut it short), in order, on a queue of its own: a full
            // pipe blocks the write, which must hold neither the connection's event loop nor
            // Swift's few cooperative threads.
            if fd == 1 || fd == 2, !Self.queue(Array((message + "\n").utf8), to: fd) {
                communicator.logger.warning(
                    "dropped a Process.writeMessage: \(Self.maxBacklog) messages already wait for the output")
            }
            return try request.makeResponse()
        default:
            if let response = try dispatchBuiltin(request, traits: ProcessTraits.self) { return response }
            throw DispatchError.operationNotExist(request.current)
        }
    }
}

extension ProcessFacet {
    private static let output = DispatchQueue(label: "floe.process-facet.output")
    private static let backlog = NIOLockedValueBox(0)
    static let maxBacklog = 100

    /// Queues `bytes` for `fd`; false when `maxBacklog` writes already wait (a peer calling
    /// `writeMessage` while nothing drains the output).
    static func queue(_ bytes: [UInt8], to fd: Int32) -> Bool {
        let admitted = backlog.withLockedValue { count in
            guard count < maxBacklog else { return false }
            count += 1
            return true
        }
        guard admitted else { return false }
        output.async {
            writeAll(bytes, to: fd)
            backlog.withLockedValue { $0 -= 1 }
        }
        return true
    }

    /// Writes every byte, through partial writes and interruptions; gives up on any other error.
    static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let written = write(fd, base + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}

struct ProcessTraits: SliceTraits {
    static let staticId = "::Ice::Process"
    static let staticIds = ["::Ice::Object", "::Ice::Process"]
}

extension Communicator {
    /// With `Ice.Admin.ServerId` set and a locator for the admin adapter, as for a server a
    /// registry may stop: registers the admin object's `Process` facet with the locator's
    /// registry under the server id (`setServerProcessProxy`). Once, when the admin object is
    /// made, whatever the server's adapters, as Ice does (a server without adapter ids, which
    /// IceGrid deploys too, registered none before).
    func registerProcessIfConfigured(_ admin: any ObjectPrx, locator: ProxyData?) async throws {
        guard let serverId = properties["Ice.Admin.ServerId"], !serverId.isEmpty, let locator else { return }
        let proxy = admin.ice_facet("Process")
        let calls = LocatorCalls(target: locatorReference(locator))
        guard let registry = try await calls.getRegistry() else { return }
        do {
            try await LocatorCalls(target: ProxyReference(communicator: self, data: registry))
                .setServerProcessProxy(serverId, proxy._reference.data)
        } catch let error as LocatorCalls.FailureError where error.failure == .serverNotFound {
            throw LocalError(
                .notRegistered,
                "the registry does not know server '\(serverId)' (IceGrid knows only deployed servers: unset Ice.Admin.ServerId), or refused it (floe-registry refuses a server id whose registered server still answers)"
            )
        }
    }
}
