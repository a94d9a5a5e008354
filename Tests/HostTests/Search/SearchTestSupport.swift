import Foundation
import PluginAPI
import Testing

@testable import Host

/// Requests to the search routes of a test hub.
extension TestHub {
    static let searchPlugins = #"{"providers": {"slack": {"enabled": true}, "search": {"enabled": true}}}"#

    func search(_ body: JSONValue, token: String? = TestHub.adminToken) async throws -> TestResponse {
        try await request(
            "POST", "/api/lancedb-search/hybrid", headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [], body: body.serialized())
    }

    func upsert(_ body: JSONValue, token: String = TestHub.adminToken) async throws -> TestResponse {
        try await request("POST", "/api/lancedb-search/documents", headers: [("Authorization", "Bearer \(token)")], body: body.serialized())
    }

    /// The result ids of a query that must succeed.
    func searchIDs(_ body: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String] {
        let response = try await search(body)
        #expect(response.status == 200, "\(response.text)", sourceLocation: sourceLocation)
        return try response.json()["results"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }
}

/// Polls `condition` until it holds or `seconds` pass (a bounded poll, for index updates made by a subscription).
func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// Reuses one data directory across several hubs (restart tests): links it in before each start.
func sharedDataDirectory(_ directory: URL) -> (URL) throws -> Void {
    { data in
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: data, withDestinationURL: directory)
    }
}
