import PluginAPI

/// LanceDB-style search over everything the hub receives: vector, full-text (FTS5, BM25) and hybrid
/// (reciprocal rank fusion), under `/api/lancedb-search`. Documents come from `POST /documents` and
/// from the event log (Slack and Teams messages, Gmail notifications, HubSpot changes) through a
/// subscription. See docs/search.md.
final class SearchProvider: Provider {
    static let descriptor = ProviderDescriptor(
        id: "search", displayName: "Search",
        settings: [
            SettingSpec(
                name: "disabled", summary: "true turns search off: /health says disabled, queries answer 503 (ATOM_DISABLE_LANCEDB)",
                environmentVariable: "ATOM_DISABLE_LANCEDB"),
            SettingSpec(name: "workspaceTokens", summary: "Per-workspace query tokens: {\"<workspace id>\": \"env:NAME\" or \"secret:NAME\"}", isSecret: true),
            SettingSpec(name: "embeddingsURL", summary: "Base URL of an OpenAI-compatible /v1/embeddings endpoint; unset uses the built-in hashing embedder"),
            SettingSpec(name: "embeddingsAPIKey", summary: "Bearer key for embeddingsURL", isSecret: true, environmentVariable: "EMBEDDINGS_API_KEY"),
            SettingSpec(name: "embeddingsModel", summary: "Model name sent to embeddingsURL (default text-embedding-3-small)"),
            SettingSpec(name: "ivfThreshold", summary: "Vectors from which an IVF index is built (default 20000)"),
        ],
        routes: [
            .get("/api/lancedb-search/health", summary: "Status, document count, embedder and index") { (search: SearchProvider, _) in
                try await search.health()
            }.answeringWhenDisabled { _ in SearchProvider.disabledHealth(embedder: nil) },
            .post("/api/lancedb-search/hybrid", maxBodyBytes: 64 * 1024, summary: "Hybrid, semantic or keyword search") { (search: SearchProvider, request) in
                try await search.query(request)
            },
            .post("/api/lancedb-search/documents", maxBodyBytes: 32 << 20, summary: "Upsert one document or {documents: [...]}") {
                (search: SearchProvider, request) in try await search.upsert(request)
            },
            .post("/api/lancedb-search/index", maxBodyBytes: 1024, summary: "Build the IVF index now (admin token)") { (search: SearchProvider, request) in
                try await search.buildIndex(request)
            },
            .on(.DELETE, "/api/lancedb-search/documents/{id}", maxBodyBytes: 0, summary: "Delete a document from both indexes") {
                (search: SearchProvider, request) in try await search.delete(request)
            },
        ],
        subscriptions: [
            .subscribe("index", providers: SearchIngestion.providers, summary: "Index messages, notifications and CRM changes") {
                (search: SearchProvider, event) in try await search.index(event)
            }
        ])

    let index: SearchIndex
    let isDisabled: Bool
    let access: SearchAccess
    let requireAdmin: @Sendable (Request) throws(HTTPError) -> Void
    let clock: any WallClock
    let logger: Logger

    init(context: ProviderContext) throws {
        let settings = context.settings
        isDisabled = try settings.bool("disabled") ?? false
        access = SearchAccess(workspaceTokens: try SearchAccess.tokens(from: settings), requireAdmin: context.requireAdmin, refuseBlockedCaller: context.refuseBlockedCaller)
        requireAdmin = context.requireAdmin
        let embedder: any Embedder
        if let url = try settings.string("embeddingsURL") {
            embedder = RemoteEmbedder(
                baseURL: url, apiKey: try settings.string("embeddingsAPIKey"), model: try settings.string("embeddingsModel") ?? "text-embedding-3-small",
                http: context.http)
        } else {
            embedder = HashingEmbedder()
        }
        var configuration = VectorCollection.Configuration()
        if let threshold = settings["ivfThreshold"] {
            guard let value = threshold.numberValue, value >= 1, value.rounded() == value else {
                throw ProviderSetupError("setting 'ivfThreshold' must be a positive integer")
            }
            configuration.ivfThreshold = Int(value)
        }
        index = SearchIndex(store: DocumentStore(database: context.database), embedder: embedder, configuration: configuration)
        clock = context.clock
        logger = context.logger
    }

    /// Indexes one event from the log (idempotent: the document id comes from the event).
    func index(_ event: SubscribedEvent) async throws {
        guard !isDisabled, let document = SearchIngestion.document(from: event) else { return }
        _ = try await index.upsert([document], now: clock.now())
    }

    static let disabledError = HTTPError(
        status: 503, error: "search_disabled",
        detail: "search is disabled (plugins.json or ATOM_DISABLE_LANCEDB=true); no results are served until it is enabled")
}
