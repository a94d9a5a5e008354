import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("GET /metrics")
struct MetricsTests {
    let signer = SlackSigner()

    @Test("After a known request mix the exposition counts requests by route template, verifications, events and provider states")
    func knownMix() async throws {
        try await withHub { (hub: TestHub) async throws in
            for id in ["EvM1", "EvM2", "EvM1"] {  // The third is a duplicate.
                let body = SlackSigner.eventBody(id: id)
                #expect(try await hub.request("POST", "/api/webhooks/slack", headers: signer.headers(body: body), body: body).status == 200)
            }
            let body = SlackSigner.eventBody(id: "EvBAD")
            var headers = signer.headers(body: body)
            headers[1].1 = "v0=" + String(repeating: "0", count: 64)
            #expect(try await hub.request("POST", "/api/webhooks/slack", headers: headers, body: body).status == 401)
            #expect(try await hub.request("GET", "/nowhere/12345").status == 404)
            #expect(try await hub.request("GET", "/api/webhooks/slack").status == 405)
            #expect(try await hub.request("GET", "/healthz").status == 200)

            let response = try await hub.admin("/metrics")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            let text = response.text
            let expected = [
                #"atom_hub_http_requests_total{provider="slack",method="POST",route="/api/webhooks/slack",status="200"} 3"#,
                #"atom_hub_http_requests_total{provider="slack",method="POST",route="/api/webhooks/slack",status="401"} 1"#,
                #"atom_hub_http_requests_total{provider="host",method="GET",route="unmatched",status="404"} 1"#,
                #"atom_hub_http_requests_total{provider="host",method="GET",route="unmatched",status="405"} 1"#,
                #"atom_hub_http_requests_total{provider="host",method="GET",route="/healthz",status="200"} 1"#,
                #"atom_hub_http_request_duration_seconds_count{provider="slack",method="POST",route="/api/webhooks/slack"} 4"#,
                #"atom_hub_http_request_duration_seconds_bucket{provider="slack",method="POST",route="/api/webhooks/slack",le="+Inf"} 4"#,
                #"atom_hub_verifications_total{provider="slack",result="ok"} 3"#,
                #"atom_hub_verifications_total{provider="slack",result="invalid_signature"} 1"#,
                #"atom_hub_events_stored_total{provider="slack"} 2"#,
                #"atom_hub_events_duplicate_total{provider="slack"} 1"#,
                #"atom_hub_provider_state{provider="slack",state="ready"} 1"#,
                #"atom_hub_provider_state{provider="gmail",state="disabled"} 1"#,
                #"atom_hub_provider_enabled{provider="slack"} 1"#,
                "# TYPE atom_hub_http_request_duration_seconds histogram",
            ]
            for line in expected { #expect(text.contains(line + "\n"), "missing: \(line)") }
            for family in [
                "process_resident_memory_bytes ", "process_open_fds ", "atom_hub_uptime_seconds ", "process_start_time_seconds ",
                #"atom_hub_http_open_connections{loop="0"} "#, #"atom_hub_http_open_connections{loop="1"} "#,
            ] {
                #expect(text.contains("\n" + family), "missing \(family)")
            }
            #expect(!text.contains("/nowhere"), "raw paths never become labels")
            Self.checkWellFormed(text)
        }
    }

    @Test("Job queue depth by kind and state comes from the database")
    func jobDepth() async throws {
        try await withHub { (hub: TestHub) async throws in
            _ = try await hub.hub.jobQueue.enqueue(kind: "slack.post_message", payload: ["channel": "C1", "text": "x"], runAt: Date().timeIntervalSince1970 + 3600)
            let text = try await hub.admin("/metrics").text
            #expect(text.contains(#"atom_hub_jobs{kind="slack.post_message",state="queued"} 1"# + "\n"))
        }
    }

    @Test("/metrics needs the admin token or METRICS_TOKEN")
    func protected() async throws {
        let environment = ["SLACK_SIGNING_SECRET": TestHub.slackSecret, "ADMIN_TOKEN": TestHub.adminToken, "METRICS_TOKEN": "scrape-token-1234"]
        try await withHub(environment: environment) { (hub: TestHub) async throws in
            #expect(try await hub.request("GET", "/metrics").status == 401)
            #expect(try await hub.request("GET", "/metrics", headers: [("Authorization", "Bearer nope")]).status == 401)
            #expect(try await hub.request("GET", "/metrics", headers: [("Authorization", "Bearer scrape-token-1234")]).status == 200)
            #expect(try await hub.admin("/metrics").status == 200)
            #expect(try await hub.request("GET", "/api/admin/events", headers: [("Authorization", "Bearer scrape-token-1234")]).status == 401, "the scrape token is not an admin token")
        }
    }

    @Test("An address blocked for failed authentications gets 429 even with the right METRICS_TOKEN: guessing it counts and stops like admin guesses")
    func blockedAddressCannotGuessTheScrapeToken() async throws {
        let environment = ["SLACK_SIGNING_SECRET": TestHub.slackSecret, "ADMIN_TOKEN": TestHub.adminToken, "METRICS_TOKEN": "scrape-token-1234"]
        try await withHub(environment: environment) { (hub: TestHub) async throws in
            for guess in 0..<10 {
                #expect(try await hub.request("GET", "/metrics", headers: [("Authorization", "Bearer guess-\(guess)")]).status == 401)
            }
            #expect(try await hub.request("GET", "/metrics", headers: [("Authorization", "Bearer scrape-token-1234")]).status == 429)
        }
    }

    /// Every non-comment line is `name{labels} value` with a numeric value; every family has HELP and TYPE.
    static func checkWellFormed(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        var typed: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") { typed.insert(String(line.split(separator: " ")[2])) }
            if line.hasPrefix("#") { continue }
            let value = line.split(separator: " ").last.map(String.init) ?? ""
            #expect(Double(value) != nil || value == "+Inf", "bad value in \(line)", sourceLocation: sourceLocation)
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            let family = ["_bucket", "_sum", "_count"].reduce(name) { name, suffix in
                name.hasSuffix(suffix) && typed.contains(String(name.dropLast(suffix.count))) ? String(name.dropLast(suffix.count)) : name
            }
            #expect(typed.contains(family), "no TYPE for \(name)", sourceLocation: sourceLocation)
        }
    }
}
