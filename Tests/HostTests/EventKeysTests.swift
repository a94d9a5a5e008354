import Foundation
import PluginAPI
import Testing

@testable import Host

/// De-duplication of the event log across its two places (``EventKeys``): keys in memory, then merged
/// into the sorted `event_keys` table; across restarts, a merge cut short, and the migration that
/// moved de-duplication off the unique index.
@Suite("Event keys")
struct EventKeysTests {
    private static func events(_ ids: some Sequence<String>) -> [NewEvent] {
        ids.map { NewEvent(externalID: $0, type: "t", rawBody: Array($0.utf8), payload: ["id": .string($0)]) }
    }

    /// `through_event`, the number of keys in `event_keys`, and how many events up to `through_event`
    /// have no key there (the invariant: none).
    private static func merged(_ log: EventLog) async throws -> (through: Int64, keys: Int64, missing: Int64) {
        try await log.write { connection in
            let through = try connection.scalarText("SELECT through_event FROM event_keys_merged").flatMap { Int64($0) } ?? -1
            let keys = try connection.scalarText("SELECT count(*) FROM event_keys").flatMap { Int64($0) } ?? -1
            let missing = try connection.scalarText(
                """
                SELECT count(*) FROM events e WHERE e.id <= (SELECT through_event FROM event_keys_merged)
                AND NOT EXISTS (SELECT 1 FROM event_keys k WHERE k.provider = e.provider AND k.external_id = e.external_id)
                """
            ).flatMap { Int64($0) } ?? -1
            return (through, keys, missing)
        }
    }

    /// Appends new single events until `done` (merges and the filter advance only inside commits).
    private static func drive(_ log: EventLog, until what: String, _ done: () async throws -> Bool) async throws {
        for n in 0..<2_000 {
            if try await done() { return }
            _ = try await log.append(provider: "test", events: events(["drive-\(UUID().uuidString)-\(n)"]))
        }
        Issue.record("\(what) did not happen within 2,000 commits")
    }

    /// `count` event ids scattered like Slack's (`Ev` + 16 hex digits of a bijection of the counter).
    private static func scatteredIDs(_ count: Int) -> [String] {
        (0..<count).map { String(format: "Ev%016llX", UInt64($0) &* 0x9E37_79B9_7F4A_7C15) }
    }

    /// Appends `ids` as events of provider `test`, 100 per append (one commit each), and returns every outcome.
    private static func appendInBatches(_ log: EventLog, _ ids: [String]) async throws -> [AppendOutcome] {
        var outcomes: [AppendOutcome] = []
        for start in stride(from: 0, to: ids.count, by: 100) {
            outcomes += try await log.append(provider: "test", events: events(ids[start..<min(start + 100, ids.count)]))
        }
        return outcomes
    }

    private static func driveMerge(_ log: EventLog, through event: Int64) async throws {
        try await drive(log, until: "a merge through event \(event)") { try await merged(log).through >= event }
    }

    private static func driveFilter(_ log: EventLog) async throws {
        try await drive(log, until: "the key filter") { try await log.keyFilterState().ready }
    }

    @Test("Keys merged into the sorted table, and keys still in memory, are duplicates before and after a restart")
    func mergedKeysStayDuplicates() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        // Scattered like Slack's; batches of 100 against a threshold of 1,000 make merges of several steps (200 keys each: twice the commit).
        let ids = Self.scatteredIDs(2_000)
        do {
            let log = try EventLog(dataDirectory: directory, logger: .disabled, keyMergeThreshold: 1_000)
            defer { log.close() }
            #expect(try await !Self.appendInBatches(log, ids).contains(.duplicate))
            try await Self.driveMerge(log, through: 1_000)
            let state = try await Self.merged(log)
            #expect(state.keys >= state.through && state.missing == 0, "every event up to through_event has its key in the table")
            #expect(try await log.append(provider: "test", events: Self.events(ids)).allSatisfy { $0 == .duplicate })
            // The same id from another provider is another event.
            #expect(try await log.append(provider: "other", events: Self.events(ids.prefix(1))).first != .duplicate)
        }
        let reopened = try EventLog(dataDirectory: directory, logger: .disabled)
        defer { reopened.close() }
        let all = try await reopened.recent(provider: nil, limit: 10_000).map(\.externalID)
        let again = try await reopened.append(provider: "test", events: Self.events(ids + all.filter { $0.hasPrefix("drive-") }))
        #expect(again.allSatisfy { $0 == .duplicate }, "merged and unmerged keys were both loaded")
        #expect(try await reopened.append(provider: "test", events: Self.events(["fresh"])) != [.duplicate])
        #expect(try await reopened.recent(provider: nil, limit: 10_000).count == all.count + 1)
    }

    @Test("A merge cut short by a crash, some keys in the table and through_event not moved, is finished after the restart")
    func interruptedMergeFinishes() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let ids = (0..<50).map { "key-\($0)" }
        do {
            let log = try EventLog(dataDirectory: directory, logger: .disabled)
            defer { log.close() }
            _ = try await log.append(provider: "test", events: Self.events(ids))
            // What a crash after a merge's first chunks leaves: some keys in event_keys, through_event unmoved.
            try await log.write { connection in
                try connection.execute("INSERT INTO event_keys SELECT provider, external_id FROM events WHERE id % 3 = 0")
            }
            let state = try await Self.merged(log)
            #expect(state.through == 0 && state.keys == 16)
        }
        let log = try EventLog(dataDirectory: directory, logger: .disabled, keyMergeThreshold: 10)
        defer { log.close() }
        #expect(try await log.append(provider: "test", events: Self.events(ids)).allSatisfy { $0 == .duplicate })
        try await Self.driveMerge(log, through: 50)
        let state = try await Self.merged(log)
        #expect(state.keys >= 50 && state.missing == 0, "the keys merged before the crash were merged again without a conflict")
        #expect(try await log.append(provider: "test", events: Self.events(ids)).allSatisfy { $0 == .duplicate })
    }

    @Test("The migration off the unique index keeps every event, its id, its deliveries and its de-duplication")
    func migrationKeepsEvents() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        // A database as the hub left it before 0009: events unique on (provider, external_id), a delivery referring to one.
        do {
            let old = try SQLiteConnection(path: directory.appendingPathComponent(Database.fileName).path)
            _ = try old.scalarText("PRAGMA journal_mode = WAL")
            try old.execute("CREATE TABLE schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
            for migration in Database.migrations.prefix(while: { $0.id != "0009_event_keys" }) {
                try old.execute(migration.sql)
                try old.execute("INSERT INTO schema_migrations VALUES ('\(migration.id)', 0)")
            }
            try old.execute(
                """
                INSERT INTO events (id, provider, external_id, type, received_at, raw_body, payload) VALUES
                    (7, 'slack', 'Ev1', 't', 1, x'31', '{}'), (8, 'slack', 'Ev2', 't', 2, x'32', '{}'), (12, 'hubspot', 'Ev1', 't', 3, x'33', '{}');
                INSERT INTO deliveries (destination, event_id, state, max_attempts, next_attempt_at, created_at, updated_at)
                    VALUES ('mine', 8, 'pending', 5, 0, 0, 0);
                """)
        }
        let log = try EventLog(dataDirectory: directory, logger: .disabled)
        defer { log.close() }
        let stored = try await log.recent(provider: nil, limit: 10).map { "\($0.id) \($0.provider) \($0.externalID)" }
        #expect(stored == ["12 hubspot Ev1", "8 slack Ev2", "7 slack Ev1"])
        #expect(try await log.append(provider: "slack", events: Self.events(["Ev1", "Ev2"])) == [.duplicate, .duplicate])
        #expect(try await log.append(provider: "hubspot", events: Self.events(["Ev1", "Ev2"])) == [.duplicate, .stored(id: 13)])
        let schema = try await log.write { connection in
            (
                unique: try connection.scalarText("SELECT count(*) FROM pragma_index_list('events') WHERE \"unique\""),
                broken: try connection.scalarText("SELECT count(*) FROM pragma_foreign_key_check"),
                delivery: try connection.scalarText("SELECT event_id FROM deliveries"),
                through: try connection.scalarText("SELECT through_event FROM event_keys_merged")
            )
        }
        #expect(schema.unique == "0" && schema.broken == "0" && schema.delivery == "8" && schema.through == "12")
    }

    @Test("After a restart the Bloom filter is read from event_keys: merged keys stay duplicates, and new keys skip the table")
    func filterAfterRestart() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let ids = Self.scatteredIDs(3_000)
        do {
            let log = try EventLog(dataDirectory: directory, logger: .disabled, keyMergeThreshold: 500)
            defer { log.close() }
            #expect(try await !Self.appendInBatches(log, ids).contains(.duplicate))
            try await Self.driveMerge(log, through: 2_500)
        }
        let log = try EventLog(dataDirectory: directory, logger: .disabled, minimumKeyFilterBits: 1 << 16)
        defer { log.close() }
        try await Self.driveFilter(log)
        #expect(try await log.append(provider: "test", events: Self.events(ids)).allSatisfy { $0 == .duplicate })
        let before = try await log.keyFilterState().tableLookups
        let fresh = try await log.append(provider: "test", events: Self.events((0..<1_000).map { "new-\($0)" }))
        #expect(!fresh.contains(.duplicate))
        let lookups = try await log.keyFilterState().tableLookups - before
        #expect(lookups < 50, "1,000 new keys against a filter of 65,536 bits for about 3,000 keys: \(lookups) lookups")

        // The scan reads the table page by page (here 7 keys a page): every key, once.
        let stored = try await log.write { connection in try connection.scalarText("SELECT count(*) FROM event_keys").flatMap { Int($0) } ?? -1 }
        let scan = try FilterScan.read(dataDirectory: directory, bits: 1 << 16, page: 7)
        #expect(scan.keys == stored && stored >= 2_500)
        #expect(ids.prefix(2_500).allSatisfy { scan.filter.mightContain(EventKeys.Key(provider: "test", externalID: $0)) })
    }

    @Test("A filter outgrown by the table is rebuilt twice the size, and no stored key is missed while it is")
    func filterGrows() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        // 1,024 bits hold about 100 keys: merges of 50 outgrow it again and again.
        let log = try EventLog(dataDirectory: directory, logger: .disabled, keyMergeThreshold: 50, minimumKeyFilterBits: 1 << 10)
        defer { log.close() }
        let ids = (0..<2_000).map { "grow-\($0)" }
        for start in stride(from: 0, to: ids.count, by: 25) {
            #expect(try await log.append(provider: "test", events: Self.events(ids[start..<start + 25])).allSatisfy { $0 != .duplicate })
            // Every key stored so far is a duplicate at every point, whatever state the filter is in.
            let sample = ids[0..<start + 25].filter { $0.hasSuffix("7") }
            #expect(try await log.append(provider: "test", events: Self.events(sample)).allSatisfy { $0 == .duplicate })
        }
        try await Self.driveMerge(log, through: 2_000)
        try await Self.driveFilter(log)
        #expect(try await log.append(provider: "test", events: Self.events(ids)).allSatisfy { $0 == .duplicate })
    }

    @Test("Ids are compared byte for byte, as SQLite does: canonically equivalent text is two events, in memory and after a merge")
    func idsAreBytes() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let log = try EventLog(dataDirectory: directory, logger: .disabled, keyMergeThreshold: 1)
        defer { log.close() }
        #expect(try await log.append(provider: "test", events: Self.events(["caf\u{E9}", "cafe\u{301}"])) == [.stored(id: 1), .stored(id: 2)])
        #expect(try await log.append(provider: "test", events: Self.events(["cafe\u{301}"])) == [.duplicate])
        try await Self.driveMerge(log, through: 2)
        #expect(try await log.append(provider: "test", events: Self.events(["caf\u{E9}", "cafe\u{301}"])) == [.duplicate, .duplicate])
    }

    @Test("A merge's keys are sorted in SQLite's byte order: provider, then id, ties past the first 16 bytes, non-ASCII, empty ids")
    func mergeOrderIsBytes() {
        let ids = ["", "a", "a\u{0}", "ab", "Ev00000000000000001", "Ev00000000000000000", "Ev0000000000000000", "Z", "\u{E9}", "e\u{301}", "\u{1F600}x", "\u{FFFD}"]
        let keys = Set(["slack", "hubspot", "slack\u{0}", "gmail"].flatMap { provider in ids.map { EventKeys.Key(provider: provider, externalID: $0) } })
        let expected = keys.sorted { a, b in
            a.provider == b.provider ? Array(a.externalID.utf8).lexicographicallyPrecedes(Array(b.externalID.utf8)) : Array(a.provider.utf8).lexicographicallyPrecedes(Array(b.provider.utf8))
        }
        #expect(EventKeys.sorted(keys) == expected)
    }

    @Test("Only one event log writes to a data dir at a time; the lock is free again once it closes")
    func oneWriterPerDataDirectory() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let first = try EventLog(dataDirectory: directory, logger: .disabled)
        #expect {
            try EventLog(dataDirectory: directory, logger: .disabled)
        } throws: { error in
            "\(error)".contains("another atom-hub is using the data dir")
        }
        first.close()
        let second = try EventLog(dataDirectory: directory, logger: .disabled)
        second.close()
    }
}
