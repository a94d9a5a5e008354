import PluginAPI

extension SearchProvider {
    /// `GET /health`: `{status: healthy|disabled|degraded, documents, embedder, index}`.
    func health() async throws -> Response {
        if isDisabled { return Self.disabledHealth(embedder: index.embedder.id) }
        do {
            let details = try await index.health()
            return .json(.object(JSONObject([(key: "status", value: "healthy")] + details.members)))
        } catch {
            logger.error("search health check failed", [("error", "\(error)")])
            return .json(["status": "degraded", "detail": "the search index could not be read; see the hub's log", "embedder": .string(index.embedder.id)])
        }
    }

    /// Health while search is off (`ATOM_DISABLE_LANCEDB=true`, or disabled in plugins.json, when the
    /// provider is never created and its embedder is unknown): nothing is read, so counts are null.
    static func disabledHealth(embedder: String?) -> Response {
        .json(["status": "disabled", "documents": .null, "embedder": embedder.map(JSONValue.string) ?? .null, "index": .null])
    }

    /// `POST /hybrid`.
    func query(_ request: Request) async throws -> Response {
        let workspace = try access.authorize(request)
        if isDisabled { throw Self.disabledError }
        var search = try SearchRequest(json: try request.jsonBody())
        search.filter.workspaceID = try SearchAccess.scope(search.filter.workspaceID, allowed: workspace)
        do { return .json(try await index.search(search)) } catch let error as EmbedderError {
            throw Self.embedderUnavailable(error)
        }
    }

    /// `POST /documents`: one document or `{"documents": [...]}` (at most 1000), upserted by id in one transaction.
    func upsert(_ request: Request) async throws -> Response {
        let workspace = try access.authorize(request)
        if isDisabled { throw Self.disabledError }
        let body = try request.jsonBody()
        let items = body["documents"].map { $0.arrayValue } ?? [body]
        guard let items, !items.isEmpty, items.count <= 1000 else { throw HTTPError.badRequest("'documents' must be an array of 1 to 1000 documents") }
        var documents: [SearchDocument] = []
        let now = clock.now()
        for (position, item) in items.enumerated() {
            do {
                var document = try SearchDocument(json: item, now: now)
                document.workspaceID = try SearchAccess.scope(document.workspaceID, allowed: workspace)
                documents.append(document)
            } catch {
                throw HTTPError(status: error.status, error: error.error, detail: items.count > 1 ? "documents[\(position)]: \(error.detail)" : error.detail)
            }
        }
        do {
            let ids = try await index.upsert(documents, now: now, limitedTo: workspace)
            return .json(["success": true, "upserted": .number(Double(ids.count)), "ids": .array(ids.map { .string($0) })])
        } catch let error as EmbedderError {
            throw Self.embedderUnavailable(error)
        }
    }

    /// `DELETE /documents/{id}`: removes it from the keyword and the vector index; 404 when unknown.
    func delete(_ request: Request) async throws -> Response {
        let workspace = try access.authorize(request)
        if isDisabled { throw Self.disabledError }
        guard let id = request.pathParameters["id"], !id.isEmpty else { throw HTTPError.badRequest("the document id is missing") }
        guard try await index.delete(id: id, workspace: workspace) else { throw HTTPError.notFound("no document '\(id)'") }
        return .json(["success": true, "deleted": .string(id)])
    }

    /// `POST /index` (admin token): builds the IVF index of every collection now; `{"lists": n}` overrides √n.
    func buildIndex(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        if isDisabled { throw Self.disabledError }
        var lists: Int?
        if !request.body.isEmpty, let value = try request.jsonBody()["lists"] {
            guard let number = value.numberValue, number >= 1, number <= 65_536, number.rounded() == number else {
                throw HTTPError.badRequest("'lists' must be an integer from 1 to 65536")
            }
            lists = Int(number)
        }
        let seconds = try await index.rebuild(lists: lists)
        return .json(["success": true, "seconds": .number(seconds), "health": .object(try await index.health())])
    }

    private static func embedderUnavailable(_ error: EmbedderError) -> HTTPError {
        HTTPError(status: 502, error: "embedder_unavailable", detail: "the embeddings endpoint failed: \(error.description)")
    }
}
