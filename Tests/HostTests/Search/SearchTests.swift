import Foundation
import PluginAPI
import Plugins
import Testing

@testable import Host

@Suite("Search provider")
struct SearchTests {
    let signer = SlackSigner()

    static let corpus: JSONValue = [
        "documents": [
            [
                "id": "d1", "title": "Quarterly revenue report", "content": "Revenue grew in the third quarter thanks to enterprise deals",
                "doc_type": "report", "provider": "api", "workspace_id": "W1", "user_id": "U1", "tags": ["finance", "q3"],
                "created_at": "2026-01-10T00:00:00Z",
            ],
            [
                "id": "d2", "title": "Team offsite", "content": "The offsite agenda covers revenue planning and hiring", "doc_type": "message",
                "provider": "slack", "workspace_id": "W1", "user_id": "U2", "tags": ["planning"], "created_at": "2026-02-10T00:00:00Z",
            ],
            [
                "id": "d3", "title": "Hiring update", "content": "Two engineers joined the platform team", "doc_type": "message",
                "provider": "teams", "workspace_id": "W2", "user_id": "U1", "tags": ["hiring"], "created_at": "2026-03-10T00:00:00Z",
            ],
        ]
    ]

    /// Runs against a hub in its own process, with the polling on a thread of its own: the 1 s is the
    /// hub's, not that of this test process's shared (and, under the full suite, saturated) task pool.
    @Test("A Slack event received by signed webhook is findable by keyword and by vector search within 1 s")
    func slackEventFindable() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plugins = directory.appendingPathComponent("plugins.json")
        try Data(TestHub.searchPlugins.utf8).write(to: plugins)
        let process = HubProcess(
            arguments: ["--port", "0", "--data-dir", directory.appendingPathComponent("data").path, "--plugins", plugins.path],
            environment: ProcessTests.environment)
        let port = try await Blocking.run { try process.start() }
        defer { process.signal(SIGTERM) }  // Also when a step throws; signalling an exited child is harmless.
        let body = SlackSigner.eventBody(id: "EvSEARCH1", text: "the zeppelin launch moved to thursday")
        let headers = signer.headers(body: body)
        let outcome = try await Blocking.run { () -> (acknowledged: Int, keyword: Bool, semantic: JSONValue?, seconds: Double) in
            func send(_ path: String, _ headers: [(String, String)], _ body: [UInt8]) throws -> TestResponse {
                let connection = try TestConnection(port: port)
                var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                try connection.send(Array((head + "\r\n").utf8) + body)
                return try connection.readResponse()
            }
            func search(_ query: JSONValue) throws -> JSONValue {
                try send("/api/lancedb-search/hybrid", [("Authorization", "Bearer \(TestHub.adminToken)")], query.serialized()).json()
            }
            // The search provider is created lazily; create it (and load its index) first, so the
            // window below measures indexing, not start-up on a busy machine.
            let connection = try TestConnection(port: port)
            try connection.send(Array("GET /api/lancedb-search/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
            guard try connection.readResponse().json()["status"] == "healthy" else { throw SearchTestError.notHealthy }
            let acknowledged = try send("/api/webhooks/slack", headers, body).status
            let start = ContinuousClock.now
            var keyword = false
            while !keyword && ContinuousClock.now - start < .seconds(1) {
                keyword = try search(["query": "zeppelin", "search_type": "keyword"])["results"]?.arrayValue?.first?["id"] == "event:slack:EvSEARCH1"
                if !keyword { usleep(5000) }  // A bounded poll: the index is updated by the hub's subscription, which a client cannot wait on.
            }
            let semantic = try search(["query": "zeppelin launch thursday", "search_type": "semantic", "limit": 1])["results"]?.arrayValue?.first
            let elapsed = ContinuousClock.now - start
            return (acknowledged, keyword, semantic, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        #expect(outcome.acknowledged == 200)
        #expect(outcome.keyword, "keyword search found the event within 1 s of the acknowledgement")
        #expect(outcome.semantic?["id"] == "event:slack:EvSEARCH1", "vector search found it too")
        #expect(outcome.semantic?["doc_type"] == "message")
        #expect(outcome.semantic?["metadata"]?["workspace_id"] == "T1")
        #expect((outcome.semantic?["similarity_score"]?.numberValue ?? 0) > 0.5)
        #expect(outcome.seconds < 1, "both searches answered within 1 s of the acknowledgement")
        process.signal(SIGTERM)
        #expect(await Blocking.runNonThrowing { process.waitForExit() }.status == 0)
    }

    @Test("Hybrid results carry per-list scores and the RRF combination")
    func hybridScores() async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            let response = try await hub.search(["query": "revenue", "limit": 5])
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["success"] == true)
            #expect(json["search_type"] == "hybrid")
            #expect(json["query"] == "revenue")
            let results = try #require(json["results"]?.arrayValue)
            #expect(json["total_count"]?.numberValue == Double(results.count))
            let top = try #require(results.first)
            #expect(top["id"] == "d1", "the title match ranks first (title weighted over content)")
            let keyword = try #require(top["keyword_score"]?.numberValue)
            #expect(keyword > 0)
            #expect(top["similarity_score"]?.numberValue != nil)
            #expect(top["combined_score"]?.numberValue == 1 / 61.0 + 1 / 61.0, "first in both lists: 2 / (60 + 1)")
        }
    }

    static let filterCases: [(filter: JSONValue, scope: String?, expected: [String])] = [
            (["doc_type": ["report"]], nil, ["d1"]),
            (["provider": ["slack", "teams"]], nil, ["d2", "d3"]),
            (["tags": ["hiring", "finance"]], nil, ["d1", "d3"]),
            (["date_range": ["from": "2026-02-01T00:00:00Z", "to": "2026-02-28T00:00:00Z"]], nil, ["d2"]),
            ([:], "workspace", ["d1", "d2"]),
            ([:], "user", ["d1", "d3"]),
    ]

    @Test("Every filter narrows both keyword and vector results", arguments: filterCases)
    func filters(filter: JSONValue, scope: String?, expected: [String]) async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            for type in ["keyword", "semantic"] {
                var body: JSONObject = ["query": "revenue OR hiring OR offsite OR engineers", "search_type": .string(type), "filters": filter]
                if type == "semantic" { body["query"] = "revenue hiring offsite engineers report update team" }
                if scope == "workspace" { body["workspace_id"] = "W1" }
                if scope == "user" { body["user_id"] = "U1" }
                #expect(try await hub.searchIDs(.object(body)).sorted() == expected, "\(type)")
            }
        }
    }

    @Test("min_score drops vector hits below the similarity floor")
    func minScore() async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            let all = try await hub.search(["query": "quarterly revenue report", "search_type": "semantic"]).json()["results"]?.arrayValue ?? []
            #expect(all.count == 3)
            let floor = try #require(all[1]["similarity_score"]?.numberValue)
            let kept = try await hub.searchIDs(["query": "quarterly revenue report", "search_type": "semantic", "filters": ["min_score": .number(floor)]])
            #expect(kept.count == 2)
        }
    }

    @Test(
        "Malformed queries are 400 with a clear detail",
        arguments: [
            ["query": "x", "limit": 0] as JSONValue, ["query": "x", "limit": 101], ["query": "x", "limit": "ten"], ["query": "x", "limit": 2.5],
            ["query": "x", "search_type": "fuzzy"], ["limit": 5], ["query": 5], ["query": "\"unbalanced phrase", "search_type": "keyword"],
            ["query": "revenue AND AND", "search_type": "keyword"], ["query": "(revenue", "search_type": "keyword"], ["query": "x", "filters": "doc_type"],
            ["query": "x", "filters": ["doc_type": "report"]], ["query": "x", "filters": ["date_range": ["from": "yesterday"]]],
            ["query": "x", "filters": ["min_score": "high"]], ["query": "x", "workspace_id": "../etc"], ["query": "x", "user_id": "a b"],
            ["query": "x", "vector": [1, 2, 3]], ["query": "x", "unknown": true], ["query": "x", "filters": ["colour": ["red"]]], "not an object",
        ])
    func malformed(body: JSONValue) async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            let response = try await hub.search(body)
            #expect(response.status == 400, "\(response.text)")
            #expect(response.errorCode != nil)
            #expect(!((try? response.json())?["detail"]?.stringValue ?? "").isEmpty)
        }
    }

    @Test("Phrases and prefixes; stop words alone still match")
    func phrasesAndPrefixes() async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            #expect(try await hub.searchIDs(["query": "\"revenue planning\"", "search_type": "keyword"]) == ["d2"])
            #expect(try await hub.searchIDs(["query": "engin*", "search_type": "keyword"]) == ["d3"])
            #expect(try await hub.searchIDs(["query": "the", "search_type": "keyword"]).count == 3)
        }
    }

    @Test("Delete removes a document from the keyword and the vector index")
    func delete() async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            let deleted = try await hub.request("DELETE", "/api/lancedb-search/documents/d1", headers: [("Authorization", "Bearer \(TestHub.adminToken)")])
            #expect(deleted.status == 200)
            #expect(try await hub.searchIDs(["query": "quarterly", "search_type": "keyword"]).isEmpty)
            #expect(!(try await hub.searchIDs(["query": "quarterly revenue report", "search_type": "semantic"]).contains("d1")))
            let again = try await hub.request("DELETE", "/api/lancedb-search/documents/d1", headers: [("Authorization", "Bearer \(TestHub.adminToken)")])
            #expect(again.status == 404)
        }
    }

    @Test("An upsert replaces the document in both indexes")
    func upsertReplaces() async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            #expect(try await hub.upsert(["id": "d1", "title": "Renamed", "content": "nothing about money"]).status == 200)
            #expect(try await hub.searchIDs(["query": "quarterly", "search_type": "keyword"]).isEmpty)
            #expect(try await hub.searchIDs(["query": "renamed", "search_type": "keyword"]) == ["d1"])
            let health = try await hub.request("GET", "/api/lancedb-search/health").json()
            #expect(health["documents"]?.numberValue == 3)
            #expect(health["index"]?["vectors"]?.numberValue == 3)
        }
    }

    @Test("POST /index builds the IVF index (admin only); queries give the same answers through it")
    func buildIndex() async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            let before = try await hub.searchIDs(["query": "quarterly revenue report", "search_type": "semantic"])
            let built = try await hub.request(
                "POST", "/api/lancedb-search/index", headers: [("Authorization", "Bearer \(TestHub.adminToken)")], body: Array(#"{"lists": 2}"#.utf8))
            #expect(built.status == 200, "\(built.text)")
            let health = try await hub.request("GET", "/api/lancedb-search/health").json()
            #expect(health["index"]?["kind"] == "ivf")
            #expect(health["index"]?["lists"]?.numberValue == 2)
            #expect(health["index"]?["built_at"]?.numberValue != nil)
            #expect(try await hub.searchIDs(["query": "quarterly revenue report", "search_type": "semantic", "nprobe": 2]) == before)
            #expect(try await hub.request("POST", "/api/lancedb-search/index", body: []).status == 401)
        }
    }

    @Test("A restart keeps the documents and the vectors")
    func restart() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withHub(plugins: TestHub.searchPlugins, beforeStart: sharedDataDirectory(directory)) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
        }
        try await withHub(plugins: TestHub.searchPlugins, beforeStart: sharedDataDirectory(directory)) { hub throws in
            #expect(try await hub.searchIDs(["query": "quarterly", "search_type": "keyword"]) == ["d1"])
            #expect(try await hub.searchIDs(["query": "quarterly revenue report", "search_type": "semantic", "limit": 1]) == ["d1"])
            let health = try await hub.request("GET", "/api/lancedb-search/health").json()
            #expect(health["status"] == "healthy")
            #expect(health["documents"]?.numberValue == 3)
            #expect(health["embedder"] == "hashing-384-v1")
        }
    }

    @Test("Disabled by ATOM_DISABLE_LANCEDB or in plugins.json: health says disabled, queries and upserts answer 503 with a clear message")
    func disabled() async throws {
        var environment = ["SLACK_SIGNING_SECRET": TestHub.slackSecret, "ADMIN_TOKEN": TestHub.adminToken, "ATOM_DISABLE_LANCEDB": "true"]
        try await withHub(plugins: TestHub.searchPlugins, environment: environment) { hub throws in
            let health = try await hub.request("GET", "/api/lancedb-search/health")
            #expect(health.status == 200)
            #expect(try health.json()["status"] == "disabled")
            let query = try await hub.search(["query": "revenue"])
            #expect(query.status == 503)
            #expect(query.errorCode == "search_disabled")
            #expect(query.text.contains("ATOM_DISABLE_LANCEDB"))
            #expect(try await hub.upsert(Self.corpus).status == 503)
        }
        environment["ATOM_DISABLE_LANCEDB"] = nil
        try await withHub(plugins: #"{"providers": {"search": {"enabled": false}}}"#, environment: environment) { hub throws in
            let health = try await hub.request("GET", "/api/lancedb-search/health")
            #expect(health.status == 200)
            #expect(try health.json()["status"] == "disabled")
            #expect(try health.json()["documents"] == .null)
            let query = try await hub.search(["query": "revenue"])
            #expect(query.status == 503)
            #expect(query.errorCode == "provider_disabled")
            #expect(try await hub.upsert(Self.corpus).status == 503)
        }
    }

    @Test("Query routes need the admin token or the workspace's own token")
    func authentication() async throws {
        let plugins = #"{"providers": {"search": {"enabled": true, "settings": {"workspaceTokens": {"W1": "env:W1_SEARCH_TOKEN"}}}}}"#
        let environment = ["ADMIN_TOKEN": TestHub.adminToken, "W1_SEARCH_TOKEN": "w1-token-0123456789abcdef"]
        try await withHub(plugins: plugins, environment: environment) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            #expect(try await hub.search(["query": "revenue"], token: nil).status == 401)
            #expect(try await hub.search(["query": "revenue"], token: "wrong-token-0123456789").status == 401)
            let limited = try await hub.search(["query": "revenue OR hiring", "search_type": "keyword"], token: "w1-token-0123456789abcdef")
            #expect(limited.status == 200)
            let ids = try limited.json()["results"]?.arrayValue?.compactMap { $0["id"]?.stringValue }.sorted()
            #expect(ids == ["d1", "d2"], "a workspace token sees only its workspace")
            let other = try await hub.search(["query": "revenue", "workspace_id": "W2"], token: "w1-token-0123456789abcdef")
            #expect(other.status == 403)
            let foreign = try await hub.upsert(["id": "x", "title": "t", "workspace_id": "W2"], token: "w1-token-0123456789abcdef")
            #expect(foreign.status == 403)
            let delete = try await hub.request("DELETE", "/api/lancedb-search/documents/d3", headers: [("Authorization", "Bearer w1-token-0123456789abcdef")])
            #expect(delete.status == 404, "another workspace's document is not found")
            #expect(try await hub.search(["query": "revenue"]).status == 200, "the admin token sees everything")
            // Wrong workspace tokens count as failed authentications: the 10th blocks the address, even for the right token.
            for guess in 0..<10 {
                let status = try await hub.search(["query": "revenue"], token: "guess-\(guess)-0123456789abcdef").status
                #expect(status == 401 || status == 429)
            }
            #expect(try await hub.search(["query": "revenue"], token: "w1-token-0123456789abcdef").status == 429)
        }
    }

    @Test("A workspace token cannot replace another workspace's document (403, the document intact), nor an unscoped one")
    func workspaceTokenCannotOverwrite() async throws {
        let plugins = #"{"providers": {"search": {"enabled": true, "settings": {"workspaceTokens": {"W1": "env:W1_SEARCH_TOKEN"}}}}}"#
        try await withHub(plugins: plugins, environment: ["ADMIN_TOKEN": TestHub.adminToken, "W1_SEARCH_TOKEN": "w1-token-0123456789abcdef"]) { hub throws in
            #expect(try await hub.upsert(["id": "plan", "title": "merger plan", "content": "contoso merger", "workspace_id": "W2"]).status == 200)
            #expect(try await hub.upsert(["id": "shared", "title": "admin note"]).status == 200)
            for id in ["plan", "shared"] {
                let attempt = try await hub.upsert(["documents": [["id": "mine", "title": "fine"], ["id": .string(id), "title": "replaced by W1"]]], token: "w1-token-0123456789abcdef")
                #expect(attempt.status == 403, "\(id)")
            }
            let found = try await hub.search(["query": "contoso merger", "search_type": "keyword", "workspace_id": "W2"]).json()["results"]?.arrayValue ?? []
            #expect(found.map { $0["title"] } == ["merger plan"])
            #expect(try await hub.searchIDs(["query": "fine", "search_type": "keyword"]).isEmpty, "the refused batch wrote nothing")
            #expect(try await hub.upsert(["id": "mine", "title": "fine"], token: "w1-token-0123456789abcdef").status == 200)
            #expect(try await hub.upsert(["id": "mine", "title": "still mine"], token: "w1-token-0123456789abcdef").status == 200, "its own document it may replace")
        }
    }

    @Test("A document that changes embedder leaves its old collection: a client-vector search no longer finds it")
    func embedderChangeDropsTheOldVector() async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            var near = [JSONValue](repeating: 0, count: 384)
            near[0] = 1
            #expect(try await hub.upsert(["id": "shared", "title": "first", "vector": .array(near), "workspace_id": "W1"]).status == 200)
            #expect(try await hub.searchIDs(["query": "", "search_type": "semantic", "vector": .array(near)]) == ["shared"])
            #expect(try await hub.upsert(["id": "shared", "title": "salary bands", "content": "confidential", "workspace_id": "W2"]).status == 200)
            #expect(try await hub.searchIDs(["query": "", "search_type": "semantic", "vector": .array(near)]).isEmpty)
            #expect(try await hub.searchIDs(["query": "", "search_type": "semantic", "vector": .array(near), "workspace_id": "W1"]).isEmpty)
        }
    }

    @Test("Building the IVF index of a collection whose every vector was deleted answers 200 (it crashed the hub)")
    func ivfBuildWithNoLiveVectors() async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            var near = [JSONValue](repeating: 0, count: 384)
            near[0] = 1
            #expect(try await hub.upsert(["id": "v1", "title": "near", "vector": .array(near)]).status == 200)
            #expect(try await hub.request("DELETE", "/api/lancedb-search/documents/v1", headers: [("Authorization", "Bearer \(TestHub.adminToken)")]).status == 200)
            let built = try await hub.request("POST", "/api/lancedb-search/index", headers: [("Authorization", "Bearer \(TestHub.adminToken)")], body: [])
            #expect(built.status == 200)
            #expect(try await hub.upsert(["id": "v2", "title": "again", "vector": .array(near)]).status == 200)
            #expect(try await hub.searchIDs(["query": "", "search_type": "semantic", "vector": .array(near)]) == ["v2"], "rows added after the empty build are found")
        }
    }

    @Test("Client vectors of the right dimension are searchable by a client query vector; never mixed with the embedder's")
    func clientVectors() async throws {
        try await withHub(plugins: TestHub.searchPlugins) { hub throws in
            var near = [JSONValue](repeating: 0, count: 384)
            near[0] = 1
            var far = [JSONValue](repeating: 0, count: 384)
            far[1] = 1
            #expect(try await hub.upsert(["documents": [["id": "v1", "title": "near", "vector": .array(near)], ["id": "v2", "title": "far", "vector": .array(far)]]]).status == 200)
            #expect(try await hub.upsert(Self.corpus).status == 200)
            #expect(try await hub.searchIDs(["query": "", "search_type": "semantic", "vector": .array(near)]) == ["v1", "v2"])
            #expect(try await hub.searchIDs(["query": "near far", "search_type": "semantic"]).allSatisfy { $0.hasPrefix("d") }, "text queries see only embedded documents")
            let wrong = try await hub.upsert(["id": "v3", "title": "bad", "vector": [1, 2]])
            #expect(wrong.status == 400)
        }
    }

    @Test("An OpenAI-compatible embeddings endpoint is used when configured, and recorded per document")
    func remoteEmbedder() async throws {
        let fake = try FakeServer { request in
            let inputs = (try? JSONValue.parse(request.body))?["input"]?.arrayValue ?? []
            let data: [JSONValue] = inputs.enumerated().map { index, input in
                let text = (input.stringValue ?? "").lowercased()
                return ["index": .number(Double(index)), "embedding": [text.contains("revenue") ? 1 : 0, text.contains("hiring") ? 1 : 0, 0.1]]
            }
            return .json(["data": .array(data)])
        }
        defer { Task { await fake.stop() } }
        let plugins = #"{"providers": {"search": {"enabled": true, "settings": {"embeddingsURL": "\#(fake.url(""))", "embeddingsModel": "tiny"}}}}"#
        try await withHub(plugins: plugins, environment: ["ADMIN_TOKEN": TestHub.adminToken, "EMBEDDINGS_API_KEY": "sk-test"]) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            #expect(try await hub.searchIDs(["query": "hiring", "search_type": "semantic", "limit": 1]) == ["d3"])
            let health = try await hub.request("GET", "/api/lancedb-search/health").json()
            #expect(health["embedder"] == "openai:tiny")
            let request = try #require(fake.requests.first)
            #expect(request.path == "/v1/embeddings")
            #expect(request.headers["Authorization"] == "Bearer sk-test")
        }
    }

    @Test("A search is not held up by a write that waits for a slow embeddings endpoint", .timeLimit(.minutes(1)))
    func slowEmbedderHoldsNoSearch() async throws {
        let gate = Gate()
        let fake = try FakeServer { request in
            let inputs = (try? JSONValue.parse(request.body))?["input"]?.arrayValue ?? []
            if inputs.contains(where: { $0.stringValue?.contains("zeppelin") == true }) { await gate.pass() }
            return .json(["data": .array(inputs.indices.map { ["index": .number(Double($0)), "embedding": [1, 0, 0.1]] })])
        }
        defer { Task { await fake.stop() } }
        let plugins = #"{"providers": {"search": {"enabled": true, "settings": {"embeddingsURL": "\#(fake.url(""))", "embeddingsModel": "tiny"}}}}"#
        try await withHub(plugins: plugins, environment: ["ADMIN_TOKEN": TestHub.adminToken, "EMBEDDINGS_API_KEY": "sk-test"]) { hub throws in
            #expect(try await hub.upsert(Self.corpus).status == 200)
            let held = Task { try await hub.upsert(["id": "z1", "title": "Zeppelin", "content": "the zeppelin launch"]).status }
            await Blocking.runNonThrowing { gate.started.wait() }  // Its embeddings request is being held.
            #expect(try await hub.searchIDs(["query": "revenue", "search_type": "keyword"]).contains("d1"), "answered while the write waits")
            gate.open()
            #expect(try await held.value == 200)
            #expect(try await hub.searchIDs(["query": "zeppelin", "search_type": "keyword"]) == ["z1"])
        }
    }
}

/// A precondition of a search test that did not hold.
enum SearchTestError: Error {
    case notHealthy
}
