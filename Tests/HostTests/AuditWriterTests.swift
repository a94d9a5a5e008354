import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Audit log writes through the event log's writer")
struct AuditWriterTests {
    /// Open file descriptors of this process on `path` (one per SQLite connection to it).
    static func openDescriptors(on path: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) == path  // A descriptor closed meanwhile is not one.
        }.count
    }

    @Test("The audit log opens no connection of its own: recording and querying use the event log's writer")
    func noConnectionOfItsOwn() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let database = try EventLog(dataDirectory: directory, logger: .disabled)
        defer { database.close() }
        let path = directory.appendingPathComponent(Database.fileName).path
        let before = try Self.openDescriptors(on: path)
        #expect(before > 0)
        let audit = AuditLog(database: database, retentionDays: 90, clock: SystemClock(), logger: .disabled)
        audit.record(AuditEvent(.secretSet, severity: .info))
        let rows = try await audit.query(AuditFilter())
        #expect(rows.count == 1)
        #expect(try Self.openDescriptors(on: path) == before)
        audit.close()
    }

    @Test("Rows recorded just before shutdown are committed by close, before the event log closes")
    func rowsBeforeShutdownAreDurable() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let database = try EventLog(dataDirectory: directory, logger: .disabled)
        let audit = AuditLog(database: database, retentionDays: 90, clock: SystemClock(), logger: .disabled)
        for index in 0..<1000 { audit.record(AuditEvent(.secretSet, severity: .info, details: ["n": .number(Double(index))])) }
        // The shutdown order Hub.shutdown uses.
        audit.close()
        database.close()
        let rows = try AuditLog.select(AuditFilter(limit: 5000), on: Database.openReader(dataDirectory: directory))
        #expect(rows.count == 1000)
        #expect(rows.first?.event.details["n"]?.numberValue == 999, "newest first, in recording order")
    }

    @Test("Hub shutdown closes the audit log before the event log: rows recorded just before it, and the summaries close writes, are in the file")
    func hubShutdownCommitsAuditRows() async throws {
        let test = try TestHub()
        defer { try? FileManager.default.removeItem(at: test.directory) }  // Best effort cleanup.
        let hub = test.hub
        for _ in 0..<200 { hub.auditLog.record(AuditEvent(.secretSet, severity: .info)) }
        // The minute's summary of suppressed events is recorded by the audit log's close itself.
        for _ in 0..<3 { hub.auditLog.recordThrottled(AuditEvent(.adminAuthFailure, severity: .warning, ipAddress: "10.0.0.9"), key: "10.0.0.9") }
        await Blocking.runNonThrowing { hub.shutdown() }
        let reader = try Database.openReader(dataDirectory: test.dataDirectory)
        #expect(try AuditLog.select(AuditFilter(type: .secretSet, limit: 1000), on: reader).count == 200)
        let failures = try AuditLog.select(AuditFilter(type: .adminAuthFailure), on: reader)
        #expect(failures.count == 2)
        #expect(failures.first?.event.details["suppressed"]?.numberValue == 2)
        #expect(!test.logs.all.contains { $0.contains("audit") && $0.hasPrefix("error") })
    }

    @Test("A row that cannot be written is logged with its event type, not swallowed; later rows are written")
    func failuresAreLogged() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let database = try EventLog(dataDirectory: directory, logger: .disabled)
        defer { database.close() }
        let capture = LogCapture()
        let audit = AuditLog(database: database, retentionDays: 90, clock: SystemClock(), logger: capture.logger)
        defer { audit.close() }
        // A temporary trigger lives on the connection that creates it: here, the writer.
        try await database.write { connection in
            try connection.execute("CREATE TEMP TRIGGER refuse BEFORE INSERT ON security_audit_log BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        }
        audit.record(AuditEvent(.secretsRotated, severity: .warning))
        #expect(try await audit.query(AuditFilter()).isEmpty)
        let errors = capture.all.filter { $0.contains("audit rows could not be written") }
        #expect(errors.count == 1)
        #expect(errors.first?.contains("first_event_type=secrets_rotated") == true)
        try await database.write { connection in try connection.execute("DROP TRIGGER temp.refuse") }
        audit.record(AuditEvent(.secretSet, severity: .info))
        #expect(try await audit.query(AuditFilter()).map(\.event.type) == [.secretSet])
    }
}
