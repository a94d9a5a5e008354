import PluginAPI
import Synchronization

/// The search engine: documents in SQLite (FTS5 for keywords), their vectors in memory (one
/// collection per embedder), loaded from SQLite on first use.
final class SearchIndex: Sendable {
    /// Client vectors are their own "embedder": compared only with client query vectors.
    static let clientEmbedder = "client"
    /// Keyword candidates ranked per query: BM25 over at most this many matches (the newest), which
    /// bounds the cost of very common terms. Below it, keyword ranking is exact.
    static let keywordCandidates = 1000

    let store: DocumentStore
    let embedder: any Embedder
    let configuration: VectorCollection.Configuration
    private let collections = Mutex<[String: VectorCollection]>([:])
    private let loading = Mutex<Task<Void, any Error>?>(nil)
    /// Searches wait for the writes begun before them, so SQLite and the vectors in memory agree.
    private let writes = WriteBarrier()

    init(store: DocumentStore, embedder: any Embedder, configuration: VectorCollection.Configuration) {
        self.store = store
        self.embedder = embedder
        self.configuration = configuration
    }

    /// Loads every stored vector into memory, once; a failed load is tried again by the next call.
    func ready() async throws {
        let task = loading.withLock { task in
            if let task { return task }
            let started = Task { try await self.load() }
            task = started
            return started
        }
        do { try await task.value } catch {
            loading.withLock { if $0 == task { $0 = nil } }
            throw error
        }
    }

    private func load() async throws {
        var after: Int64 = 0
        while true {
            let page = try await store.vectors(after: after, limit: 2000)
            guard let last = page.last else { return }
            for item in page { collection(item.embedder, dimensions: item.vector.count)?.upsert(item.vector, entry: item.entry) }
            after = last.entry.seq
        }
    }

    /// The collection for `embedder` (created with `dimensions`); nil when it exists with another dimension.
    func collection(_ embedder: String, dimensions: Int) -> VectorCollection? {
        collections.withLock { collections in
            if let existing = collections[embedder] { return existing.dimensions == dimensions ? existing : nil }
            let created = VectorCollection(dimensions: dimensions, configuration: configuration)
            collections[embedder] = created
            return created
        }
    }

    func existingCollection(_ embedder: String) -> VectorCollection? { collections.withLock { $0[embedder] } }

    /// Stores and indexes `documents` (embedding those without a client vector); returns their ids.
    /// A caller limited to `workspace` may not replace a document of another workspace (403, nothing
    /// written); the check and the write are one step, as writes run one at a time.
    func upsert(_ documents: [SearchDocument], now: Double, limitedTo workspace: String? = nil) async throws -> [String] {
        try await ready()
        // Embedded before the write begins: searches wait for writes, never for an embeddings endpoint.
        let indexed = try await embed(documents)
        try await writes.write {
            if let workspace, let foreign = try await store.ids(documents.map(\.id), outside: workspace).first {
                throw HTTPError(status: 403, error: "forbidden", detail: "document '\(foreign)' belongs to another workspace; this token is limited to '\(workspace)'")
            }
            try await commit(indexed, now: now)
        }
        return documents.map(\.id)
    }

    /// `documents` with their vectors: the client's, or the embedder's for those without one.
    private func embed(_ documents: [SearchDocument]) async throws -> [DocumentStore.Indexed] {
        let needEmbedding = documents.filter { $0.vector == nil }
        let embedded = needEmbedding.isEmpty ? [] : try await embedder.embed(needEmbedding.map(\.embeddingText))
        guard embedded.count == needEmbedding.count, embedded.allSatisfy({ !$0.isEmpty }) else {
            throw EmbedderError("the embedder returned \(embedded.count) vectors for \(needEmbedding.count) documents")
        }
        var next = embedded.makeIterator()
        let indexed = documents.map { document in
            if let vector = document.vector { return DocumentStore.Indexed(document: document, embedder: Self.clientEmbedder, vector: vector) }
            return DocumentStore.Indexed(document: document, embedder: embedder.id, vector: next.next()!)  // Counted above.
        }
        // Checked before anything is written: a remote embedder that changed its dimension must not split a collection.
        for item in indexed where existingCollection(item.embedder).map({ $0.dimensions != item.vector.count }) ?? false {
            throw EmbedderError("embedder \(item.embedder) returned \(item.vector.count) dimensions; its stored vectors have another")
        }
        return indexed
    }

    /// Stores `indexed` in SQLite, then adds the vectors to memory.
    private func commit(_ indexed: [DocumentStore.Indexed], now: Double) async throws {
        let seqs = try await store.upsert(indexed, now: now)
        let all = collections.withLock { $0 }
        for (item, seq) in zip(indexed, seqs) {
            let document = item.document
            // A document indexed by another embedder before (a client vector then, none now, or the
            // reverse) leaves that collection: one live vector per document.
            for (embedder, other) in all where embedder != item.embedder { other.remove(seq: seq) }
            collection(item.embedder, dimensions: item.vector.count)?.upsert(
                item.vector,
                entry: VectorEntry(
                    seq: seq, docType: document.docType, provider: document.provider, workspaceID: document.workspaceID, userID: document.userID,
                    createdAt: document.createdAt, tags: document.tags, norm: 0))
        }
    }

    /// Deletes document `id` from SQLite (FTS included) and from memory; false when it did not exist.
    func delete(id: String, workspace: String?) async throws -> Bool {
        try await ready()
        return try await writes.write {
            guard let seq = try await store.delete(id: id, workspace: workspace) else { return false }
            for collection in collections.withLock({ Array($0.values) }) { collection.remove(seq: seq) }
            return true
        }
    }

    /// Runs a validated query: the vector list, the keyword list, or both fused by RRF.
    func search(_ request: SearchRequest) async throws -> JSONValue {
        try await ready()
        await writes.waitForEarlierWrites()
        let depth = request.kind == .hybrid ? max(request.limit, 50) : request.limit
        var semantic: [(seq: Int64, score: Double)] = []
        var keyword: [(seq: Int64, score: Double)] = []
        if request.kind != .keyword {
            semantic = try await vectorHits(request, depth: depth)
        }
        if request.kind != .semantic, let expression = try KeywordQuery(request.query).expression {
            do {
                keyword = try await store.keyword(expression, filter: request.filter, limit: depth, candidates: Self.keywordCandidates)
            } catch let error as ProviderDatabaseError where error.code & 0xFF == 1 {  // SQLITE_ERROR: FTS5 rejected the expression.
                throw HTTPError(status: 400, error: "invalid_query", detail: "the keyword query is not valid: \(error.message)")
            }
        }
        let similarity = Dictionary(semantic.map { ($0.seq, $0.score) }, uniquingKeysWith: { first, _ in first })
        let keywordScores = Dictionary(keyword.map { ($0.seq, $0.score) }, uniquingKeysWith: { first, _ in first })
        let ranked: [(seq: Int64, score: Double)]
        switch request.kind {
        case .semantic: ranked = semantic
        case .keyword: ranked = keyword
        case .hybrid: ranked = RankFusion.fuse([semantic.map(\.seq), keyword.map(\.seq)])
        }
        let top = Array(ranked.prefix(request.limit))
        let documents = try await store.documents(top.map(\.seq))
        let results: [JSONValue] = top.compactMap { hit in
            guard var document = documents[hit.seq] else { return nil }  // Deleted between ranking and reading: left out.
            document["similarity_score"] = similarity[hit.seq].map { .number($0) } ?? .null
            document["keyword_score"] = keywordScores[hit.seq].map { .number($0) } ?? .null
            document["combined_score"] = .number(hit.score)
            return .object(document)
        }
        return [
            "success": true, "results": .array(results), "total_count": .number(Double(results.count)), "query": .string(request.query),
            "search_type": .string(request.kind.rawValue),
        ]
    }

    /// The vector list: the query embedded by the configured embedder (or the client's vector), compared
    /// only with documents of that same embedder, filters first, then `min_score`.
    private func vectorHits(_ request: SearchRequest, depth: Int) async throws -> [(seq: Int64, score: Double)] {
        let embedderID: String
        let query: [Float]
        if let vector = request.vector {
            (embedderID, query) = (Self.clientEmbedder, vector)
        } else {
            guard let vector = try await embedder.embed([request.query]).first else { return [] }
            (embedderID, query) = (embedder.id, vector)
        }
        guard let collection = existingCollection(embedderID), collection.dimensions == query.count else { return [] }
        let filter = request.filter
        let predicate: (@Sendable (VectorEntry) -> Bool)? = filter.isEmpty ? nil : { @Sendable entry in filter.matches(entry) }
        let hits = collection.search(query, k: depth, metric: request.metric, filter: predicate, probes: request.probes)
        return hits.map { (seq: $0.seq, score: request.metric.similarity($0.score)) }.filter { hit in request.minScore.map { hit.score >= $0 } ?? true }
    }

    /// Builds the IVF index of every collection now (with `lists` lists, default √n) and returns when done.
    func rebuild(lists: Int?) async throws -> Double {
        try await ready()
        let start = ContinuousClock.now
        for collection in collections.withLock({ Array($0.values) }) { await collection.rebuild(lists: lists) }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// `/health`'s document count, embedder and index.
    func health() async throws -> JSONObject {
        try await ready()
        let count = try await store.count()
        let own = existingCollection(embedder.id) ?? existingCollection(Self.clientEmbedder)
        let index = own?.indexDescription ?? (kind: "exact", lists: 0, builtAt: nil, indexedRows: 0)
        var indexObject: JSONObject = [
            "kind": .string(index.kind), "vectors": .number(Double(own?.liveCount ?? 0)), "lists": .number(Double(index.lists)),
            "indexed_rows": .number(Double(index.indexedRows)), "built_at": index.builtAt.map { .number($0) } ?? .null,
            "ivf_threshold": .number(Double(configuration.ivfThreshold)),
        ]
        let others = collections.withLock { $0.filter { $0.key != embedder.id }.map { ($0.key, $0.value.liveCount) } }
        indexObject["other_collections"] = .object(JSONObject(others.sorted { $0.0 < $1.0 }.map { (key: $0.0, value: .number(Double($0.1))) }))
        return ["documents": .number(Double(count)), "embedder": .string(embedder.id), "index": .object(indexObject)]
    }
}
