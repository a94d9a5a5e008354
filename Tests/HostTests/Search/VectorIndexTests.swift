import PluginAPI
import Testing

@testable import Host
@testable import Plugins

/// Index builds and scans are seconds of CPU in a debug build: they run on a thread of their own
/// (Blocking), one test at a time, so they never starve the cooperative pool other suites' hubs run on.
@Suite("Vector index", .serialized)
struct VectorIndexTests {
    /// `count` seeded vectors around `clusters` random centres.
    static func clustered(count: Int, clusters: Int, dimensions: Int = 32, seed: UInt64 = 7) -> [[Float]] {
        var generator = SplitMix64(seed: seed)
        func uniform() -> Float { Float(generator.next() % 1_000_000) / 500_000 - 1 }
        let centres = (0..<clusters).map { _ in (0..<dimensions).map { _ in uniform() } }
        return (0..<count).map { index in centres[index % clusters].map { $0 + 0.3 * uniform() } }
    }

    static func collection(_ vectors: [[Float]]) -> VectorCollection {
        var configuration = VectorCollection.Configuration()
        configuration.buildsAutomatically = false
        let collection = VectorCollection(dimensions: vectors[0].count, configuration: configuration)
        for (index, vector) in vectors.enumerated() {
            collection.upsert(
                vector,
                entry: VectorEntry(
                    seq: Int64(index + 1), docType: index % 3 == 0 ? "a" : "b", provider: "p", workspaceID: nil, userID: nil, createdAt: 0, tags: [],
                    norm: 0))
        }
        return collection
    }

    @Test("IVF with every list probed returns exactly what exact search returns, for every metric", arguments: VectorMetric.allCases)
    func ivfAllListsEqualsExact(metric: VectorMetric) async {
        let (kind, pairs) = await Blocking.runNonThrowing { Self.exactAndIVF(metric: metric) }
        #expect(kind == "ivf")
        for (exact, ivf) in pairs {
            #expect(exact == ivf)
            #expect(exact.count == 10)
            #expect(!exact.contains { $0.seq == 5 }, "a deleted row is never returned")
        }
    }

    /// The index kind, and exact and all-lists IVF results for 20 filtered queries.
    static func exactAndIVF(metric: VectorMetric) -> (String, [([VectorCollection.Hit], [VectorCollection.Hit])]) {
        // Above 8192 rows, so the scans are split across cores.
        let vectors = clustered(count: 9000, clusters: 20)
        let collection = collection(vectors)
        collection.remove(seq: 5)
        collection.buildIndex(lists: 16)
        // Rows added after the build are scanned exactly too.
        collection.upsert(vectors[1], entry: VectorEntry(seq: 99_999, docType: "a", provider: "p", createdAt: 0, tags: [], norm: 0))
        let filter: @Sendable (VectorEntry) -> Bool = { $0.docType == "a" }
        let pairs = clustered(count: 20, clusters: 20, seed: 99).map { query in
            (
                collection.search(query, k: 10, metric: metric, filter: filter, exact: true),
                collection.search(query, k: 10, metric: metric, filter: filter, probes: 16)
            )
        }
        return (collection.indexDescription.kind, pairs)
    }

    @Test("A few probes on clustered data keep recall@10 high")
    func recallWithFewProbes() async {
        let recall = await Blocking.runNonThrowing { Self.recall() }
        #expect(recall >= 0.9)
    }

    static func recall() -> Double {
        let vectors = Self.clustered(count: 4000, clusters: 20)
        let collection = Self.collection(vectors)
        collection.buildIndex(lists: 32)
        var found = 0
        let queries = Self.clustered(count: 50, clusters: 20, seed: 3)
        for query in queries {
            let exact = Set(collection.search(query, k: 10, metric: .cosine, filter: { _ in true }, exact: true).map(\.seq))
            let ivf = collection.search(query, k: 10, metric: .cosine, filter: { _ in true }, probes: 6).map(\.seq)
            found += ivf.filter(exact.contains).count
        }
        return Double(found) / Double(queries.count * 10)
    }

    @Test("The hashing embedder is deterministic, normalised and 384-dimensional")
    func hashingEmbedder() {
        let a = HashingEmbedder.vector("Quarterly revenue grew")
        #expect(a.count == 384)
        #expect(a == HashingEmbedder.vector("Quarterly revenue grew"))
        #expect(abs(VectorMath.dot(a, a) - 1) < 1e-5)
        #expect(VectorMath.dot(a, HashingEmbedder.vector("revenue grew quarterly")) > VectorMath.dot(a, HashingEmbedder.vector("hiring engineers")))
    }

    @Test("Reciprocal rank fusion with k = 60")
    func fusion() {
        let fused = RankFusion.fuse([[1, 2, 3], [3, 1]])
        #expect(fused.map(\.seq) == [1, 3, 2])
        #expect(fused[0].score == 1 / 61.0 + 1 / 62.0)
    }

    @Test("Keyword queries: words any-of, phrases, prefixes, operators, stop words")
    func keywordQuery() throws {
        #expect(try KeywordQuery("the revenue, report!").expression == "\"revenue\" OR \"report\"")
        #expect(try KeywordQuery("\"Revenue planning\" team").expression == "\"revenue planning\" OR \"team\"")
        #expect(try KeywordQuery("engin*").expression == "\"engin\" *")
        #expect(try KeywordQuery("revenue AND NOT hiring").expression == "\"revenue\" AND NOT \"hiring\"")
        #expect(try KeywordQuery("the").expression == "\"the\"")
        #expect(try KeywordQuery("!!!").expression == nil)
        #expect(throws: HTTPError.self) { try KeywordQuery("\"open") }
    }

    @Test("Events from Teams, Gmail and HubSpot become documents keyed by the event")
    func ingestion() throws {
        func event(_ provider: String, _ type: String, _ payload: JSONValue) -> SubscribedEvent {
            SubscribedEvent(id: 7, provider: provider, externalID: "X1", type: type, occurredAt: 1_700_000_000, receivedAt: 1_700_000_001, payload: payload)
        }
        let teams = try #require(
            SearchIngestion.document(
                from: event("teams", "message", ["text": "<at>Bot</at> deploy tonight", "from": ["id": "u1"], "channelData": ["tenant": ["id": "T9"]]])))
        #expect(teams.id == "event:teams:X1")
        #expect(teams.content == "Bot deploy tonight")
        #expect(teams.workspaceID == "T9")
        let gmail = try #require(SearchIngestion.document(from: event("gmail", "gmail.history", ["emailAddress": "a@b.example", "historyId": "42"])))
        #expect(gmail.userID == "a@b.example")
        #expect(gmail.docType == "email_notification")
        let hubspot = try #require(
            SearchIngestion.document(
                from: event("hubspot", "contact.propertyChange", ["objectId": 123, "portalId": 9, "propertyName": "email", "propertyValue": "x@y.example"])))
        #expect(hubspot.content == "HubSpot contact.propertyChange for object 123: email = x@y.example")
        #expect(hubspot.workspaceID == "9")
        #expect(hubspot.createdAt == 1_700_000_000)
        #expect(SearchIngestion.document(from: event("slack", "reaction_added", ["event": ["type": "reaction_added"]])) == nil)
    }
}
