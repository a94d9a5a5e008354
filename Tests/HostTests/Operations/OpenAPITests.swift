import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("GET /openapi.json")
struct OpenAPITests {
    @Test("The document lists host routes and enabled providers' routes with parameters, bodies and security")
    func document() async throws {
        try await withHub { (hub: TestHub) async throws in
            let response = try await hub.request("GET", "/openapi.json")
            #expect(response.status == 200)
            let document = try response.json()
            #expect(document["openapi"] == "3.1.0")
            let paths = try #require(document["paths"]?.objectValue)
            for path in ["/healthz", "/metrics", "/openapi.json", "/api/admin/providers", "/api/admin/providers/{id}", "/api/webhooks/slack", "/api/admin/jobs/{id}/retry"] {
                #expect(paths[path] != nil, "missing \(path)")
            }
            #expect(paths["/api/webhooks/gmail"] == nil, "gmail is disabled")
            let put = try #require(paths["/api/admin/providers/{id}"]?["put"])
            #expect(put["parameters"]?.arrayValue?.first?["name"] == "id" && put["parameters"]?.arrayValue?.first?["in"] == "path")
            #expect(put["requestBody"]?["content"]?["application/json"]?["schema"]?["required"] == ["enabled"])
            #expect(put["security"] != nil)
            #expect(paths["/api/webhooks/slack"]?["post"]?["security"] == nil)
            // What the webhook routes really answer: Slack's challenge object, HubSpot an empty 200.
            #expect(paths["/api/webhooks/slack"]?["post"]?["responses"]?["200"]?["content"]?["application/json"]?["schema"]?["properties"]?["challenge"] != nil)
            #expect(paths["/api/slack/scheduled-posts"]?["post"]?["security"] != nil, "declared adminOnly")
            #expect(paths["/api/admin/events"]?["get"]?["parameters"]?.arrayValue?.map { $0["name"] } == ["provider", "limit"])
            Self.checkStructure(document)
        }
    }

    @Test("Enabling a provider adds its routes to the document")
    func followsReload() async throws {
        try await withHub { (hub: TestHub) async throws in
            let response = try await hub.request(
                "PUT", "/api/admin/providers/gmail", headers: [("Authorization", "Bearer \(TestHub.adminToken)")], body: Array(#"{"enabled": true}"#.utf8))
            #expect(response.status == 200)
            let paths = try await hub.request("GET", "/openapi.json").json()["paths"]
            #expect(paths?["/api/webhooks/gmail"]?["post"] != nil)
        }
    }

    /// Unique operation ids, every `{name}` in a path declared as a required path parameter, responses everywhere.
    static func checkStructure(_ document: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) {
        var operationIDs: Set<String> = []
        for (path, item) in document["paths"]?.objectValue?.members ?? [] {
            let names = path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
            for (method, operation) in item.objectValue?.members ?? [] {
                let id = operation["operationId"]?.stringValue ?? ""
                #expect(operationIDs.insert(id).inserted, "duplicate operationId \(id)", sourceLocation: sourceLocation)
                let declared = (operation["parameters"]?.arrayValue ?? []).filter { $0["in"] == "path" && $0["required"] == true }.compactMap { $0["name"]?.stringValue }
                #expect(declared == names, "\(method) \(path) path parameters", sourceLocation: sourceLocation)
                #expect(operation["responses"]?.objectValue?.members.isEmpty == false, sourceLocation: sourceLocation)
            }
        }
    }
}
