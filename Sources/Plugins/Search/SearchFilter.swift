import PluginAPI

/// The filters of a query, applied before ranking to both the keyword and the vector candidates.
struct SearchFilter: Sendable {
    var workspaceID: String?
    var userID: String?
    var docTypes: [String] = []
    var providers: [String] = []
    /// Any of these tags.
    var tags: [String] = []
    /// Seconds since 1970, inclusive.
    var from: Double?
    var to: Double?

    /// Whether any condition is set.
    var isEmpty: Bool {
        workspaceID == nil && userID == nil && docTypes.isEmpty && providers.isEmpty && tags.isEmpty && from == nil && to == nil
    }

    /// Whether a vector's document passes.
    func matches(_ entry: VectorEntry) -> Bool {
        if let workspaceID, entry.workspaceID != workspaceID { return false }
        if let userID, entry.userID != userID { return false }
        if !docTypes.isEmpty && !docTypes.contains(entry.docType) { return false }
        if !providers.isEmpty && !providers.contains(entry.provider) { return false }
        if !tags.isEmpty && !entry.tags.contains(where: tags.contains) { return false }
        if let from, entry.createdAt < from { return false }
        if let to, entry.createdAt > to { return false }
        return true
    }

    /// The same conditions as SQL over `search_documents d` (leading ` AND …`, empty when none), with arguments.
    var sql: (clause: String, arguments: [SQLValue]) {
        var clause = ""
        var arguments: [SQLValue] = []
        if let workspaceID {
            clause += " AND d.workspace_id = ?"
            arguments.append(.text(workspaceID))
        }
        if let userID {
            clause += " AND d.user_id = ?"
            arguments.append(.text(userID))
        }
        for (column, values) in [("d.doc_type", docTypes), ("d.provider", providers)] where !values.isEmpty {
            clause += " AND \(column) IN (\(SQLStatement.placeholders(values.count)))"
            arguments += values.map { .text($0) }
        }
        if !tags.isEmpty {
            clause += " AND d.seq IN (SELECT document FROM search_document_tags WHERE tag IN (\(SQLStatement.placeholders(tags.count))))"
            arguments += tags.map { .text($0) }
        }
        if let from {
            clause += " AND d.created_at >= ?"
            arguments.append(.real(from))
        }
        if let to {
            clause += " AND d.created_at <= ?"
            arguments.append(.real(to))
        }
        return (clause, arguments)
    }

}
