import PluginAPI

/// An OpenAI-compatible embeddings endpoint: `POST {baseURL}/v1/embeddings` with
/// `{"model", "input": [texts]}`, answered with `{"data": [{"index", "embedding": [...]}]}`.
struct RemoteEmbedder: Embedder {
    let baseURL: String
    let apiKey: String?
    let model: String
    let http: any HTTPClient

    var id: String { "openai:\(model)" }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        let url = baseURL.hasSuffix("/") ? "\(baseURL)v1/embeddings" : "\(baseURL)/v1/embeddings"
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let apiKey { headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        let body: JSONValue = ["model": .string(model), "input": .array(texts.map { .string($0) })]
        let response = try await http.send(OutboundRequest(method: .POST, url: url, headers: headers, body: body.serialized(), timeout: .seconds(30)))
        guard response.status == 200 else {
            throw EmbedderError("the embeddings endpoint answered \(response.status)")
        }
        guard let data = (try? JSONValue.parse(response.body))?["data"]?.arrayValue, data.count == texts.count else {  // Any parse failure reads as the one error below.
            throw EmbedderError("the embeddings endpoint answered without one embedding per input")
        }
        var vectors = [[Float]](repeating: [], count: texts.count)
        for (position, item) in data.enumerated() {
            let index = item["index"]?.numberValue.map(Int.init) ?? position
            guard vectors.indices.contains(index), let values = item["embedding"]?.arrayValue, !values.isEmpty else {
                throw EmbedderError("the embeddings endpoint answered a malformed embedding")
            }
            let vector = values.compactMap { $0.numberValue.map(Float.init) }
            guard vector.count == values.count else { throw EmbedderError("the embeddings endpoint answered a non-numeric embedding") }
            vectors[index] = vector
        }
        guard Set(vectors.map(\.count)).count == 1, !vectors[0].isEmpty else {
            throw EmbedderError("the embeddings endpoint answered embeddings of different lengths")
        }
        return vectors
    }
}

/// The embedder could not embed; queries answer 502, ingestion retries.
struct EmbedderError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
