import PluginAPI

/// A document to index, from `POST /documents` or from an event.
struct SearchDocument: Sendable {
    var id: String
    var title: String
    var content: String
    var docType: String
    var provider: String
    var sourceURI: String?
    var workspaceID: String?
    var userID: String?
    var tags: [String] = []
    /// Seconds since 1970.
    var createdAt: Double
    var metadata: JSONObject = [:]
    /// A client-supplied vector; when nil the configured embedder makes one from title and content.
    var vector: [Float]?

    /// The text the embedder sees.
    var embeddingText: String { title.isEmpty ? content : "\(title)\n\(content)" }

    /// Parses one document of an upsert; 400 naming the field for anything wrong.
    init(json value: JSONValue, now: Double) throws(HTTPError) {
        guard let object = value.objectValue else { throw .badRequest("each document must be a JSON object") }
        let known: Set = ["id", "title", "content", "doc_type", "provider", "source_uri", "workspace_id", "user_id", "tags", "created_at", "metadata", "vector"]
        if let unknown = object.members.first(where: { !known.contains($0.key) }) {
            throw .badRequest("unknown document field '\(unknown.key)'")
        }
        guard let id = value["id"]?.stringValue, !id.isEmpty, id.utf8.count <= 256, !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .badRequest("'id' is required: 1–256 bytes without control characters")
        }
        self.id = id
        title = try Self.text(value["title"], "title", limit: 1024) ?? ""
        content = try Self.text(value["content"], "content", limit: 256 * 1024) ?? ""
        guard !(title + content).isEmpty else { throw .badRequest("a document needs a 'title' or 'content'") }
        docType = try SearchValidation.identifier(value["doc_type"], "doc_type") ?? "document"
        provider = try SearchValidation.identifier(value["provider"], "provider") ?? "api"
        sourceURI = try Self.text(value["source_uri"], "source_uri", limit: 2048)
        workspaceID = try SearchValidation.identifier(value["workspace_id"], "workspace_id")
        userID = try SearchValidation.identifier(value["user_id"], "user_id")
        tags = try SearchValidation.strings(value["tags"], "tags")
        createdAt = try SearchValidation.time(value["created_at"], "created_at") ?? now
        if let metadata = value["metadata"] {
            guard let object = metadata.objectValue else { throw .badRequest("'metadata' must be an object") }
            self.metadata = object
        }
        if let vector = value["vector"] { self.vector = try SearchValidation.vector(vector, field: "vector") }
    }

    init(
        id: String, title: String, content: String, docType: String, provider: String, sourceURI: String? = nil, workspaceID: String? = nil,
        userID: String? = nil, tags: [String] = [], createdAt: Double, metadata: JSONObject = [:]
    ) {
        self.id = id
        self.title = title
        self.content = content
        self.docType = docType
        self.provider = provider
        self.sourceURI = sourceURI
        self.workspaceID = workspaceID
        self.userID = userID
        self.tags = tags
        self.createdAt = createdAt
        self.metadata = metadata
    }

    private static func text(_ value: JSONValue?, _ field: String, limit: Int) throws(HTTPError) -> String? {
        guard let value, value != .null else { return nil }
        guard let text = value.stringValue, text.utf8.count <= limit else { throw .badRequest("'\(field)' must be a string of at most \(limit) bytes") }
        return text
    }
}
