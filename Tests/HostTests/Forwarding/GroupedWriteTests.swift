import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Grouped writes share the event log's commit")
struct GroupedWriteTests {
    @Test("A grouped write commits with the appends around it; one that throws rolls back only its own changes")
    func savepoints() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try EventLog(dataDirectory: directory, logger: .disabled)
        try await log.write { connection in try connection.execute("CREATE TABLE scratch (x INTEGER)") }
        struct Refused: Error {}
        async let kept: Int = log.groupedWrite { connection in
            try connection.execute("INSERT INTO scratch (x) VALUES (1)")
            return 1
        }
        let refused = Task {
            try await log.groupedWrite { connection in
                try connection.execute("INSERT INTO scratch (x) VALUES (2)")
                throw Refused()
            }
        }
        async let appended = log.append(provider: "p", events: [NewEvent(externalID: "e1", type: "t", occurredAt: nil, rawBody: [], payload: nil)])
        #expect(try await kept == 1)
        await #expect(throws: Refused.self) { try await refused.value }
        #expect(try await appended.count == 1)
        let rows = try await log.write { connection in try connection.scalarText("SELECT group_concat(x) FROM scratch") }
        #expect(rows == "1")
        #expect(try await log.recent(provider: "p", limit: 10).map(\.externalID) == ["e1"])
        log.close()
        await #expect(throws: EventLogError.self) { try await log.groupedWrite { _ in 0 } }
    }

    @Test("A write whose statement rolls back the shared transaction fails the whole batch: what is answered stored is stored, nothing else is")
    func rollbackStatementFailsTheBatch() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try EventLog(dataDirectory: directory, logger: .disabled)
        defer { log.close() }
        try await log.write { connection in try connection.execute("CREATE TABLE scratch (x INTEGER PRIMARY KEY)") }
        // Hold the writer, so everything below is queued and taken as one batch.
        let (held, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let holder = Task { try await log.write { _ in held.signal(); release.wait() } }
        await Blocking.runNonThrowing { held.wait() }
        let before = Task { try await log.groupedWrite { connection in try connection.execute("INSERT INTO scratch (x) VALUES (1)") } }
        let culprit = Task { try await log.groupedWrite { connection in try connection.execute("INSERT OR ROLLBACK INTO scratch (x) VALUES (1), (1)") } }
        let after = Task { try await log.groupedWrite { connection in try connection.execute("INSERT INTO scratch (x) VALUES (3)") } }
        let appended = Task { try await log.append(provider: "p", events: [NewEvent(externalID: "victim", type: "t", rawBody: [], payload: [:])]) }
        while log.queuedWrites < 4 { await Task.yield() }
        release.signal()
        try await holder.value
        var answeredStored: [String] = []
        for (name, task) in [("before", before), ("culprit", culprit), ("after", after)] {
            if case .success = await task.result { answeredStored.append(name) }
        }
        if case .success = await appended.result { answeredStored.append("victim") }
        let rows = try await log.write { connection in try connection.scalarText("SELECT group_concat(x) FROM scratch") }
        let events = try await log.recent(provider: "p", limit: 10).map(\.externalID)
        #expect(answeredStored.isEmpty, "the batch failed as a whole: \(answeredStored)")
        #expect(rows == nil, "nothing of it was stored either")
        #expect(events.isEmpty)
        // The writer goes on: the next batch commits.
        try await log.groupedWrite { connection in try connection.execute("INSERT INTO scratch (x) VALUES (4)") }
        #expect(try await log.write { connection in try connection.scalarText("SELECT group_concat(x) FROM scratch") } == "4")
    }
}
