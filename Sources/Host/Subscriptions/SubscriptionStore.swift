import Foundation
import PluginAPI

/// Where subscriptions read the log and keep their cursors: reads on a connection of their own,
/// cursor writes through the event log's writer.
struct SubscriptionStore: Sendable {
    let eventLog: EventLog
    let reader: DatabaseReader

    init(eventLog: EventLog, dataDirectory: URL) throws {
        self.eventLog = eventLog
        reader = try DatabaseReader(connection: Database.openReader(dataDirectory: dataDirectory), label: "atom-hub.subscriptions.reader")
    }

    /// The last event id the subscription `name` handled (0 when it never ran).
    func cursor(_ name: String) async throws -> Int64 {
        try await reader.read { connection in
            let statement = try connection.prepare("SELECT event_id FROM subscription_cursors WHERE name = ?")
            defer { statement.reset() }
            try statement.bind(1, name)
            return try statement.step() ? statement.int64(0) : 0
        }
    }

    /// Records that `name` handled every matching event up to `eventID`.
    func advance(_ name: String, to eventID: Int64) async throws {
        try await eventLog.write { connection in
            try connection.transaction {
                let statement = try connection.prepare(
                    """
                    INSERT INTO subscription_cursors (name, event_id, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET event_id = max(event_id, excluded.event_id), updated_at = excluded.updated_at
                    """)
                try statement.bind(1, name)
                try statement.bind(2, eventID)
                try statement.bind(3, Int64(Date().timeIntervalSince1970))
                try statement.run()
            }
        }
    }

    /// Up to `limit` events after `eventID` that `subscription` wants, oldest first.
    func events(after eventID: Int64, for subscription: EventSubscription, limit: Int) async throws -> [SubscribedEvent] {
        let providers = subscription.providers
        let types = subscription.types
        return try await reader.read { connection in
            var sql = "SELECT id, provider, type, external_id, received_at, occurred_at, payload FROM events WHERE id > ?"
            if let providers { sql += Self.membership("provider", providers.count) }
            if let types { sql += Self.membership("type", types.count) }
            sql += " ORDER BY id LIMIT ?"
            let statement = try connection.prepare(sql)
            defer { statement.reset() }
            var index: Int32 = 1
            try statement.bind(index, eventID)
            for value in (providers ?? []) + (types ?? []) {
                index += 1
                try statement.bind(index, value)
            }
            try statement.bind(index + 1, Int64(limit))
            var events: [SubscribedEvent] = []
            while try statement.step() {
                events.append(
                    SubscribedEvent(
                        id: statement.int64(0), provider: statement.text(1) ?? "", externalID: statement.text(3) ?? "", type: statement.text(2) ?? "",
                        occurredAt: statement.isNull(5) ? nil : statement.double(5), receivedAt: Double(statement.int64(4)) / 1000,
                        payload: try JSONValue.parse(Array((statement.text(6) ?? "null").utf8))))
            }
            return events
        }
    }

    /// ` AND column IN (?, …)` for `count` values; an empty list matches nothing (and binds nothing).
    private static func membership(_ column: String, _ count: Int) -> String {
        count == 0 ? " AND 0" : " AND \(column) IN (\(SQLStatement.placeholders(count)))"
    }
}
