import PluginAPI

/// `POST /api/lancedb-search/hybrid`, validated: every problem is a 400 naming the field.
struct SearchRequest: Sendable {
    enum Kind: String, Sendable, CaseIterable { case hybrid, semantic, keyword }

    var query: String
    var kind: Kind
    var limit: Int
    var filter: SearchFilter
    var minScore: Double?
    var metric: VectorMetric
    /// A client-supplied query vector: compared with documents upserted with client vectors.
    var vector: [Float]?
    /// IVF lists to probe (tuning and benchmarks); nil for the default.
    var probes: Int?

    static let maximumLimit = 100

    init(json body: JSONValue) throws(HTTPError) {
        guard let object = body.objectValue else { throw .badRequest("the body must be a JSON object") }
        let known: Set = ["query", "user_id", "workspace_id", "limit", "search_type", "filters", "metric", "vector", "nprobe"]
        if let unknown = object.members.first(where: { !known.contains($0.key) }) {
            throw .badRequest("unknown field '\(unknown.key)'; expected \(known.sorted().joined(separator: ", "))")
        }
        guard let query = body["query"]?.stringValue else { throw .badRequest("'query' is required and must be a string") }
        guard query.utf8.count <= 4096 else { throw .badRequest("'query' is longer than 4096 bytes") }
        self.query = query
        switch body["search_type"] {
        case nil: kind = .hybrid
        case .string(let text)?:
            guard let kind = Kind(rawValue: text) else { throw .badRequest("'search_type' must be one of hybrid, semantic, keyword") }
            self.kind = kind
        default: throw .badRequest("'search_type' must be one of hybrid, semantic, keyword")
        }
        limit = try Self.integer(body["limit"], "limit", in: 1...Self.maximumLimit) ?? 20
        probes = try Self.integer(body["nprobe"], "nprobe", in: 1...65_536)
        switch body["metric"] {
        case nil: metric = .cosine
        case .string(let text)?:
            guard let metric = VectorMetric(rawValue: text) else { throw .badRequest("'metric' must be one of cosine, dot, l2") }
            self.metric = metric
        default: throw .badRequest("'metric' must be one of cosine, dot, l2")
        }
        if let vector = body["vector"] {
            self.vector = try SearchValidation.vector(vector, field: "vector")
        }
        if query.trimmingCharacters(in: .whitespaces).isEmpty && vector == nil {
            throw .badRequest("'query' must not be empty")
        }
        filter = SearchFilter()
        filter.workspaceID = try SearchValidation.identifier(body["workspace_id"], "workspace_id")
        filter.userID = try SearchValidation.identifier(body["user_id"], "user_id")
        if let filters = body["filters"] {
            guard let object = filters.objectValue else { throw .badRequest("'filters' must be an object") }
            let knownFilters: Set = ["doc_type", "provider", "tags", "date_range", "min_score"]
            if let unknown = object.members.first(where: { !knownFilters.contains($0.key) }) {
                throw .badRequest("unknown filter '\(unknown.key)'; expected \(knownFilters.sorted().joined(separator: ", "))")
            }
            filter.docTypes = try SearchValidation.strings(filters["doc_type"], "filters.doc_type")
            filter.providers = try SearchValidation.strings(filters["provider"], "filters.provider")
            filter.tags = try SearchValidation.strings(filters["tags"], "filters.tags")
            if let range = filters["date_range"] {
                guard range.objectValue != nil else { throw .badRequest("'filters.date_range' must be an object with 'from' and/or 'to'") }
                filter.from = try SearchValidation.time(range["from"], "filters.date_range.from")
                filter.to = try SearchValidation.time(range["to"], "filters.date_range.to")
                if let from = filter.from, let to = filter.to, from > to { throw .badRequest("'filters.date_range.from' is after 'to'") }
            }
            if let score = filters["min_score"] {
                guard let value = score.numberValue, value.isFinite else { throw .badRequest("'filters.min_score' must be a number") }
                minScore = value
            }
        }
    }

    private static func integer(_ value: JSONValue?, _ field: String, in range: ClosedRange<Int>) throws(HTTPError) -> Int? {
        guard let value else { return nil }
        guard let number = value.numberValue, number.rounded() == number, number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            throw .badRequest("'\(field)' must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int(number)
    }
}

/// Checks shared by queries and document upserts.
enum SearchValidation {
    /// Workspace and user ids, and other short identifiers: 1–128 of letters, digits, `_ - . : @`.
    static func identifier(_ value: JSONValue?, _ field: String) throws(HTTPError) -> String? {
        guard let value, value != .null else { return nil }
        guard let text = value.stringValue, isIdentifier(text) else {
            throw .badRequest("'\(field)' must be 1–128 characters of letters, digits, '_', '-', '.', ':' or '@'")
        }
        return text
    }

    static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 128
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.:@".unicodeScalars.contains($0)) }
    }

    /// A list of up to 50 short strings.
    static func strings(_ value: JSONValue?, _ field: String) throws(HTTPError) -> [String] {
        guard let value else { return [] }
        guard let items = value.arrayValue, items.count <= 50 else { throw .badRequest("'\(field)' must be an array of at most 50 strings") }
        var strings: [String] = []
        for item in items {
            guard let text = item.stringValue, !text.isEmpty, text.utf8.count <= 128 else {
                throw .badRequest("'\(field)' must contain only non-empty strings of at most 128 bytes")
            }
            strings.append(text)
        }
        return strings
    }

    /// An RFC 3339 time or a number of seconds since 1970.
    static func time(_ value: JSONValue?, _ field: String) throws(HTTPError) -> Double? {
        switch value {
        case nil, .null?: return nil
        case .number(let seconds)? where seconds.isFinite: return seconds
        case .string(let text)?:
            guard let seconds = RFC3339.parse(text) else { throw .badRequest("'\(field)' is not an RFC 3339 time") }
            return seconds
        default: throw .badRequest("'\(field)' must be an RFC 3339 time or seconds since 1970")
        }
    }

    /// A vector of finite numbers with the embedder's dimension.
    static func vector(_ value: JSONValue, field: String, dimensions: Int = HashingEmbedder.dimensions) throws(HTTPError) -> [Float] {
        guard let items = value.arrayValue, items.count == dimensions else {
            throw .badRequest("'\(field)' must be an array of \(dimensions) numbers")
        }
        var vector: [Float] = []
        vector.reserveCapacity(dimensions)
        for item in items {
            guard let number = item.numberValue, number.isFinite, abs(number) <= 1e30 else {
                throw .badRequest("'\(field)' must contain only finite numbers")
            }
            vector.append(Float(number))
        }
        return vector
    }
}
