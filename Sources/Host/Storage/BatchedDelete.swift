extension EventLog {
    /// Deletes the rows of `table` matching `condition` (SQL in which `?1` is `cutoff`), `batch` per
    /// grouped write, until a batch deletes fewer or the task is cancelled; returns how many it deleted.
    /// Each batch rides in a group commit: no commit grows large, and none costs an fsync of its own.
    ///
    /// The row with the highest id is always kept. SQLite numbers a new row one past the highest id
    /// left, so deleting the newest rows would hand their ids out again, and ids are names outside the
    /// database (a delivery's `webhook-id`, a job id a client holds, an audit row's id).
    func deleteInBatches(from table: String, where condition: String, cutoff: Int64, batch: Int = 500) async throws -> Int {
        let sql = """
            DELETE FROM \(table) WHERE id IN (
                SELECT id FROM \(table) WHERE (\(condition)) AND id < (SELECT max(id) FROM \(table)) LIMIT ?2)
            """
        var deleted = 0
        while !Task.isCancelled {
            let count = try await groupedWrite { connection in
                let statement = try connection.prepare(sql)
                try statement.bind(1, cutoff)
                try statement.bind(2, Int64(batch))
                try statement.run()
                return connection.changes
            }
            deleted += count
            if count < batch { break }
        }
        return deleted
    }
}
