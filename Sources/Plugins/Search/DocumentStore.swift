import PluginAPI

/// The search tables (`search_documents`, `search_document_tags`, `search_fts`) through the provider's database.
struct DocumentStore: Sendable {
    let database: any ProviderDatabase

    /// A document with the vector it is indexed under.
    struct Indexed: Sendable {
        var document: SearchDocument
        var embedder: String
        var vector: [Float]
    }

    /// Inserts or replaces `documents` (by id) in one transaction, with their FTS rows and tags; returns their rows.
    func upsert(_ documents: [Indexed], now: Double) async throws -> [Int64] {
        var statements: [SQLStatement] = []
        for item in documents {
            let document = item.document
            let id = SQLValue.text(document.id)
            statements.append(
                SQLStatement(
                    """
                    INSERT INTO search_documents
                        (id, title, content, doc_type, provider, source_uri, workspace_id, user_id, created_at, metadata, embedder, vector, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET title = excluded.title, content = excluded.content, doc_type = excluded.doc_type,
                        provider = excluded.provider, source_uri = excluded.source_uri, workspace_id = excluded.workspace_id,
                        user_id = excluded.user_id, created_at = excluded.created_at, metadata = excluded.metadata,
                        embedder = excluded.embedder, vector = excluded.vector, updated_at = excluded.updated_at
                    RETURNING seq
                    """,
                    [
                        id, .text(document.title), .text(document.content), .text(document.docType), .text(document.provider),
                        document.sourceURI.map { .text($0) } ?? .null, document.workspaceID.map { .text($0) } ?? .null,
                        document.userID.map { .text($0) } ?? .null, .real(document.createdAt),
                        .text(String(decoding: JSONValue.object(document.metadata).serialized(), as: UTF8.self)), .text(item.embedder),
                        .blob(Self.blob(item.vector)), .real(now),
                    ]))
            statements.append(SQLStatement("DELETE FROM search_fts WHERE rowid = (SELECT seq FROM search_documents WHERE id = ?)", [id]))
            statements.append(
                SQLStatement(
                    "INSERT INTO search_fts (rowid, title, content) SELECT seq, ?, ? FROM search_documents WHERE id = ?",
                    [.text(document.title), .text(document.content), id]))
            statements.append(SQLStatement("DELETE FROM search_document_tags WHERE document = (SELECT seq FROM search_documents WHERE id = ?)", [id]))
            for tag in Set(document.tags) {
                statements.append(SQLStatement("INSERT INTO search_document_tags (document, tag) SELECT seq, ? FROM search_documents WHERE id = ?", [.text(tag), id]))
            }
        }
        let results = try await database.write(statements)
        return results.compactMap { rows in rows.count == 1 && rows[0].count == 1 ? rows[0][0].integerValue : nil }
    }

    /// Those of `ids` stored with a workspace other than `workspace` (or none).
    func ids(_ ids: [String], outside workspace: String) async throws -> [String] {
        guard !ids.isEmpty else { return [] }
        let rows = try await database.read(
            "SELECT id FROM search_documents WHERE workspace_id IS NOT ? AND id IN (\(SQLStatement.placeholders(ids.count)))",
            [.text(workspace)] + ids.map { .text($0) })
        return rows.compactMap { $0.first?.textValue }
    }

    /// Deletes document `id` (and its FTS row and tags); returns its row, nil when there was none.
    /// With `workspace`, only a document of that workspace is deleted.
    func delete(id: String, workspace: String?) async throws -> Int64? {
        let condition = workspace == nil ? "id = ?" : "id = ? AND workspace_id = ?"
        let arguments: [SQLValue] = [.text(id)] + (workspace.map { [.text($0)] } ?? [])
        let results = try await database.write([
            SQLStatement("DELETE FROM search_fts WHERE rowid = (SELECT seq FROM search_documents WHERE \(condition))", arguments),
            SQLStatement("DELETE FROM search_document_tags WHERE document = (SELECT seq FROM search_documents WHERE \(condition))", arguments),
            SQLStatement("DELETE FROM search_documents WHERE \(condition) RETURNING seq", arguments),
        ])
        return results.last?.first?.first?.integerValue
    }

    /// Documents with their embedder and vector after row `seq`, oldest first (for loading the vectors at startup).
    func vectors(after seq: Int64, limit: Int) async throws -> [(embedder: String, vector: [Float], entry: VectorEntry)] {
        let rows = try await database.read(
            """
            SELECT d.seq, d.doc_type, d.provider, d.workspace_id, d.user_id, d.created_at, d.embedder, d.vector,
                (SELECT group_concat(tag, char(31)) FROM search_document_tags WHERE document = d.seq)
            FROM search_documents d WHERE d.seq > ? ORDER BY d.seq LIMIT ?
            """, [.integer(seq), .integer(Int64(limit))])
        return rows.map { row in
            let tags = row[8].textValue.map { $0.split(separator: "\u{1F}").map(String.init) } ?? []
            let entry = VectorEntry(
                seq: row[0].integerValue ?? 0, docType: row[1].textValue ?? "", provider: row[2].textValue ?? "", workspaceID: row[3].textValue,
                userID: row[4].textValue, createdAt: row[5].doubleValue ?? 0, tags: tags, norm: 0)
            return (row[6].textValue ?? "", Self.floats(row[7].blobValue ?? []), entry)
        }
    }

    /// The number of documents.
    func count() async throws -> Int {
        Int(try await database.read("SELECT count(*) FROM search_documents", []).first?.first?.integerValue ?? 0)
    }

    /// The best `limit` documents for an FTS5 `expression` by BM25 (title weighted 3, content 1), among
    /// at most `candidates` matches, newest first, that pass `filter`; scores are positive, higher better.
    func keyword(_ expression: String, filter: SearchFilter, limit: Int, candidates: Int) async throws -> [(seq: Int64, score: Double)] {
        let (clause, arguments) = filter.sql
        let join = filter.isEmpty ? "" : " JOIN search_documents d ON d.seq = search_fts.rowid"  // Only filters need the documents.
        let rows = try await database.read(
            """
            SELECT search_fts.rowid, bm25(search_fts, 3.0, 1.0) FROM search_fts\(join)
            WHERE search_fts MATCH ?\(clause) ORDER BY search_fts.rowid DESC LIMIT ?
            """, [.text(expression)] + arguments + [.integer(Int64(candidates))])
        let scored = rows.compactMap { row in row[0].integerValue.map { (seq: $0, score: -(row[1].doubleValue ?? 0)) } }
        return Array(scored.sorted { $0.score > $1.score || ($0.score == $1.score && $0.seq > $1.seq) }.prefix(limit))
    }

    /// The stored fields of documents `seqs`, by row.
    func documents(_ seqs: [Int64]) async throws -> [Int64: JSONObject] {
        guard !seqs.isEmpty else { return [:] }
        let list = SQLStatement.placeholders(seqs.count)
        let arguments = seqs.map { SQLValue.integer($0) }
        let rows = try await database.read(
            """
            SELECT seq, id, title, content, doc_type, provider, source_uri, workspace_id, user_id, created_at, metadata, embedder
            FROM search_documents WHERE seq IN (\(list))
            """, arguments)
        var tags: [Int64: [JSONValue]] = [:]
        for row in try await database.read("SELECT document, tag FROM search_document_tags WHERE document IN (\(list)) ORDER BY tag", arguments) {
            if let seq = row[0].integerValue, let tag = row[1].textValue { tags[seq, default: []].append(.string(tag)) }
        }
        var documents: [Int64: JSONObject] = [:]
        for row in rows {
            guard let seq = row[0].integerValue else { continue }
            var metadata = (row[10].textValue.flatMap { try? JSONValue.parse($0) })?.objectValue ?? [:]  // Written by upsert as an object; anything else reads as empty.
            metadata["provider"] = row[5].textValue.map { .string($0) } ?? .null
            metadata["workspace_id"] = row[7].textValue.map { .string($0) } ?? .null
            metadata["user_id"] = row[8].textValue.map { .string($0) } ?? .null
            metadata["tags"] = .array(tags[seq] ?? [])
            metadata["created_at"] = .number(row[9].doubleValue ?? 0)
            metadata["embedder"] = row[11].textValue.map { .string($0) } ?? .null
            documents[seq] = [
                "id": row[1].textValue.map { .string($0) } ?? .null, "title": .string(row[2].textValue ?? ""), "content": .string(row[3].textValue ?? ""),
                "doc_type": .string(row[4].textValue ?? ""), "source_uri": row[6].textValue.map { .string($0) } ?? .null, "metadata": .object(metadata),
            ]
        }
        return documents
    }

    static func blob(_ vector: [Float]) -> [UInt8] {
        vector.withUnsafeBytes { Array($0) }  // Little-endian float32 on every platform the hub supports.
    }

    static func floats(_ blob: [UInt8]) -> [Float] {
        blob.withUnsafeBytes { raw in (0..<(blob.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }
}
