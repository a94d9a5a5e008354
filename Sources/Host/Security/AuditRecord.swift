import PluginAPI

/// A row read back from `security_audit_log`.
struct AuditRecord: Sendable {
    let id: Int64
    /// Milliseconds since 1970.
    let timestamp: Int64
    let event: AuditEvent

    var json: JSONValue {
        var object: JSONObject = [
            "id": .number(Double(id)), "timestamp": .number(Double(timestamp) / 1000), "event_type": .string(event.type.rawValue),
            "severity": .string(event.severity.rawValue), "details": .object(event.details),
        ]
        if let value = event.userID { object["user_id"] = .string(value) }
        if let value = event.requestID { object["request_id"] = .string(value) }
        if let value = event.ipAddress { object["ip_address"] = .string(value) }
        if let value = event.userAgent { object["user_agent"] = .string(value) }
        return .object(object)
    }
}
