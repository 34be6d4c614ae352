import FloeCore
import FloeEncoding
import Foundation
import Logging
import SQLiteNIO

/// A registry's storage in one SQLite file (`registry.sqlite` in the data directory). Proxies
/// are stored in their string form, identities too, so the file reads well with `sqlite3`.
final class SQLiteRegistryStorage: RegistryStorage {
    static let schemaVersion = 1
    let path: String
    private let connection: SQLiteConnection
    /// Formats and parses the stored proxies and identities.
    private let communicator: Communicator

    /// Opens (or creates) the database in `directory`. A file that is not a registry database
    /// of this version is an error, and is left as it was.
    init(directory: String, communicator: Communicator) async throws {
        self.communicator = communicator
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("registry.sqlite")
        connection = try await SQLiteConnection.open(storage: .file(path: path))
        do {
            try await checkAndCreateSchema()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private func checkAndCreateSchema() async throws {
        // Read first: a damaged or foreign file fails here, before anything is written to it.
        let check: [SQLiteRow]
        do {
            check = try await connection.query("PRAGMA quick_check")
        } catch {
            throw LocalError(.invalidArgument, "\(path) is not a registry database (\(error)); it was left unchanged")
        }
        guard check.first?.column("quick_check")?.string == "ok" else {
            throw LocalError(
                .invalidArgument, "\(path) is damaged (SQLite's quick_check failed); it was left unchanged")
        }
        let tables = try await connection.query("SELECT name FROM sqlite_master WHERE type = 'table'")
            .compactMap { $0.column("name")?.string }
        if tables.contains("meta") {
            let version = try await connection.query("SELECT value FROM meta WHERE key = 'schema'").first?
                .column("value")?.string
            guard version == String(Self.schemaVersion) else {
                throw LocalError(
                    .invalidArgument,
                    "\(path) has registry schema \(version ?? "none"), this floe-registry reads \(Self.schemaVersion); it was left unchanged"
                )
            }
        } else if !tables.isEmpty {
            throw LocalError(.invalidArgument, "\(path) is an SQLite database of something else; it was left unchanged")
        }
        for statement in [
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "INSERT OR IGNORE INTO meta VALUES ('schema', '\(Self.schemaVersion)')",
            "CREATE TABLE IF NOT EXISTS adapters (id TEXT PRIMARY KEY, replica_group TEXT NOT NULL, proxy TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS objects (identity TEXT PRIMARY KEY, proxy TEXT NOT NULL, type TEXT NOT NULL, tags TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS replica_groups (id TEXT PRIMARY KEY, policy TEXT NOT NULL, replicas INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS processes (server TEXT PRIMARY KEY, proxy TEXT NOT NULL)",
        ] {
            _ = try await connection.query(statement)
        }
    }

    func load() async throws -> RegistrySnapshot {
        var snapshot = RegistrySnapshot()
        // A registration replaces its row, which then gets the highest rowid: rowid order is
        // the order of the latest registrations.
        for row in try await connection.query("SELECT id, replica_group, proxy FROM adapters ORDER BY rowid") {
            guard let id = row.column("id")?.string, let proxy = parse(row.column("proxy")?.string, "adapter '\(id)'")
            else { continue }
            snapshot.adapters.append(
                (id, RegistryState.Adapter(proxy: proxy, replicaGroupId: row.column("replica_group")?.string ?? "")))
        }
        for row in try await connection.query("SELECT identity, proxy, type, tags FROM objects") {
            guard let text = row.column("identity")?.string,
                let proxy = parse(row.column("proxy")?.string, "well-known object '\(text)'")
            else { continue }
            let tags = (row.column("tags")?.string).flatMap {
                try? JSONDecoder().decode([String: String].self, from: Data($0.utf8))
            }
            guard let identity = try? communicator.stringToIdentity(text) else {
                communicator.logger.warning(
                    "\(path): well-known object '\(text.prefix(200))' left out: its identity does not parse")
                continue
            }
            snapshot.objects[identity] = RegistryState.WellKnownObject(
                proxy: proxy, type: row.column("type")?.string ?? "::Ice::Object", tags: tags ?? [:])
        }
        for row in try await connection.query("SELECT id, policy, replicas FROM replica_groups") {
            guard let id = row.column("id")?.string,
                let policy = (row.column("policy")?.string).flatMap(ReplicaGroup.Policy.init(rawValue:))
            else { continue }
            snapshot.groups[id] = (policy, Int(row.column("replicas")?.integer ?? 0))
        }
        for row in try await connection.query("SELECT server, proxy FROM processes") {
            guard let id = row.column("server")?.string,
                let proxy = parse(row.column("proxy")?.string, "server '\(id)'")
            else { continue }
            snapshot.processes[id] = proxy
        }
        return snapshot
    }

    func saveAdapter(_ id: String, _ adapter: RegistryState.Adapter?) async throws {
        if let adapter {
            _ = try await connection.query(
                "INSERT OR REPLACE INTO adapters VALUES (?, ?, ?)",
                [.text(id), .text(adapter.replicaGroupId), .text(format(adapter.proxy))])
        } else {
            _ = try await connection.query("DELETE FROM adapters WHERE id = ?", [.text(id)])
        }
    }

    func saveObject(_ id: Identity, _ object: RegistryState.WellKnownObject?) async throws {
        let key = communicator.identityToString(id)
        if let object {
            let tags = String(decoding: try JSONEncoder().encode(object.tags), as: UTF8.self)
            _ = try await connection.query(
                "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?)",
                [.text(key), .text(format(object.proxy)), .text(object.type), .text(tags)])
        } else {
            _ = try await connection.query("DELETE FROM objects WHERE identity = ?", [.text(key)])
        }
    }

    func saveGroup(_ id: String, policy: ReplicaGroup.Policy, replicas: Int) async throws {
        _ = try await connection.query(
            "INSERT OR REPLACE INTO replica_groups VALUES (?, ?, ?)",
            [.text(id), .text(policy.rawValue), .integer(replicas)])
    }

    func saveProcess(_ serverId: String, _ proxy: ProxyData?) async throws {
        if let proxy {
            _ = try await connection.query(
                "INSERT OR REPLACE INTO processes VALUES (?, ?)", [.text(serverId), .text(format(proxy))])
        } else {
            _ = try await connection.query("DELETE FROM processes WHERE server = ?", [.text(serverId)])
        }
    }

    func close() async { try? await connection.close() }

    private func format(_ proxy: ProxyData) -> String {
        communicator.proxyToString(ObjectPrxI(_reference: ProxyReference(communicator: communicator, data: proxy)))
    }

    /// A stored proxy, or nil with a warning if it no longer parses (written by an older
    /// floe-registry, or edited by hand): one bad row must not keep the registry from starting.
    private func parse(_ text: String?, _ row: String) -> ProxyData? {
        guard let text else { return nil }
        do {
            return try communicator.stringToProxy(text)?._reference.data
        } catch {
            communicator.logger.warning(
                "\(path): \(row) left out: its proxy '\(text.prefix(200))' does not parse (\(error))")
            return nil
        }
    }
}
