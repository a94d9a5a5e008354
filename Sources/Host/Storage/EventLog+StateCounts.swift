/// Row counts by state of the queue-like tables (jobs, deliveries), for metrics and the admin page.
extension EventLog {
    /// One table's rows counted by `state` (and by `kind` when the table has that column).
    struct StateCount: Sendable {
        let table: String
        let kind: String?
        let state: String
        let count: Int
    }

    /// Tables whose rows carry a `state`; a table not (yet) in the schema is skipped.
    static let stateTables = ["jobs", "deliveries"]

    /// Counts rows by state for every table of ``stateTables`` that exists and has a `state` column.
    func stateCounts() async throws -> [StateCount] {
        try await reader.read { connection in
            var counts: [StateCount] = []
            for table in Self.stateTables {
                let columns = try connection.prepare("SELECT name FROM pragma_table_info(?)")
                defer { columns.reset() }
                try columns.bind(1, table)
                var names: Set<String> = []
                while try columns.step() { names.insert(columns.text(0) ?? "") }
                guard names.contains("state") else { continue }
                let byKind = names.contains("kind")
                // `table` comes from the fixed list above, never from a request.
                let statement = try connection.prepare(
                    byKind
                        ? "SELECT state, count(*), kind FROM \(table) GROUP BY kind, state ORDER BY kind, state"
                        : "SELECT state, count(*) FROM \(table) GROUP BY state ORDER BY state")
                defer { statement.reset() }
                while try statement.step() {
                    counts.append(
                        StateCount(table: table, kind: byKind ? statement.text(2) : nil, state: statement.text(0) ?? "", count: Int(statement.int64(1))))
                }
            }
            return counts
        }
    }
}
