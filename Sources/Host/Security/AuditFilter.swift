/// Which audit rows to read: newer than `since`, of one type or severity, newest first.
struct AuditFilter: Sendable {
    /// Milliseconds since 1970.
    var since: Int64?
    var type: AuditEvent.Kind?
    var severity: AuditEvent.Severity?
    var limit = 100
}
