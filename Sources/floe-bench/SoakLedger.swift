import Foundation
import NIOConcurrencyHelpers

/// What `Tools/soak.sh` checks on the server side: which soak calls ran, and how often. A call
/// is named by its context entry `soak` = "CLIENT:INDEX"; each client's indexes are kept as a
/// bit set, so a million calls cost about 125 KiB and the ledger does not disturb the server's
/// memory figures.
final class SoakLedger: Sendable {
    private struct Client {
        var executed: [UInt64] = []
        var count = 0
        var duplicates = 0
        var highest = -1
    }

    private let clients = NIOLockedValueBox<[String: Client]>([:])

    /// Records one execution of the call named `tag`; ignores a tag that is not CLIENT:INDEX.
    func record(_ tag: String) {
        guard let colon = tag.lastIndex(of: ":"), let index = Int(tag[tag.index(after: colon)...]),
            index >= 0, index < 10_000_000
        else { return }
        let name = String(tag[..<colon])
        clients.withLockedValue { clients in
            var client = clients.removeValue(forKey: name) ?? Client()
            let word = index / 64
            if client.executed.count <= word {
                client.executed += [UInt64](repeating: 0, count: word + 1 - client.executed.count)
            }
            let bit = UInt64(1) << UInt64(index % 64)
            if client.executed[word] & bit != 0 {
                client.duplicates += 1
            } else {
                client.executed[word] |= bit
                client.count += 1
            }
            client.highest = max(client.highest, index)
            clients[name] = client
        }
    }

    /// One JSON object per client: executions, duplicates, and the indexes up to the highest
    /// seen that never ran.
    func write(to path: String) throws {
        let lines = clients.withLockedValue { clients in
            clients.sorted { $0.key < $1.key }.map { name, client -> String in
                var missing: [Int] = []
                if client.highest >= 0 {
                    for index in 0...client.highest where client.executed[index / 64] & (1 << UInt64(index % 64)) == 0 {
                        missing.append(index)
                    }
                }
                return
                    "{\"client\":\"\(name)\",\"executed\":\(client.count),\"duplicates\":\(client.duplicates),\"highest\":\(client.highest),\"missing\":\(missing)}"
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
