import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Structured request logs")
struct RequestLogTests {
    let signer = SlackSigner()

    @Test("One line per request with request id, provider, route template, status, latency and bytes")
    func oneLinePerRequest() async throws {
        try await withHub { (hub: TestHub) async throws in
            let body = SlackSigner.eventBody(id: "EvLOG1")
            let response = try await hub.request(
                "POST", "/api/webhooks/slack", headers: signer.headers(body: body) + [("X-Request-ID", "req-42.a:b/c_d")], body: body)
            #expect(response.status == 200)
            #expect(response.header("X-Request-ID") == "req-42.a:b/c_d")
            let lines = hub.logs.all.filter { $0.contains(" request ") && $0.contains("request_id=req-42.a:b/c_d") }
            #expect(lines.count == 1)
            let line = try #require(lines.first)
            for part in ["info http request", "method=POST", "route=/api/webhooks/slack", "provider=slack", "status=200", "bytes_in=\(body.count)", "duration_ms="] {
                #expect(line.contains(part), "missing \(part) in \(line)")
            }
        }
    }

    @Test("An unsafe or overlong X-Request-ID is replaced by a generated one; unmatched paths log a fixed route")
    func unsafeRequestIDReplaced() async throws {
        try await withHub { (hub: TestHub) async throws in
            for unsafe in ["a b", "x\"y", String(repeating: "a", count: 129), "é"] {
                let response = try await hub.request("GET", "/no/such/path?token=secret-in-query", headers: [("X-Request-ID", unsafe)])
                #expect(response.status == 404)
                let id = try #require(response.header("X-Request-ID"))
                #expect(id.count == 32 && id.allSatisfy(\.isHexDigit), "generated id, not \(id)")
                #expect(hub.logs.all.contains { $0.contains("request_id=\(id)") && $0.contains("route=unmatched") && $0.contains("status=404") })
            }
            #expect(!hub.logs.all.contains { $0.contains("/no/such/path") || $0.contains("secret-in-query") }, "raw paths and queries are not logged")
        }
    }

    @Test("duration_ms has two decimals, rounded, never negative")
    func durationFormat() {
        #expect(RequestObserver.milliseconds(0.0012345) == "1.23")
        #expect(RequestObserver.milliseconds(0.00005) == "0.05")
        #expect(RequestObserver.milliseconds(0.0000049) == "0.00")
        #expect(RequestObserver.milliseconds(0.0101) == "10.10")
        #expect(RequestObserver.milliseconds(2) == "2000.00")
        #expect(RequestObserver.milliseconds(-1) == "0.00")
    }

    @Test("Generated request ids are 32 hex digits and never repeat within a process")
    func generatedIDsAreUnique() {
        let ids = (0..<10_000).map { _ in RequestID.generate() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.utf8.count == 32 && $0.allSatisfy(\.isHexDigit) })
    }

    @Test("A request the server refuses before routing (malformed, too large) is logged and counted as route=rejected")
    func rejectedRequestsLoggedAndCounted() async throws {
        try await withHub { (hub: TestHub) async throws in
            let port = hub.port
            let statuses = try await Blocking.run { () -> [Int] in
                let malformed = try TestConnection(port: port)
                try malformed.send(Array("GET /x HTTP/1.1\r\nHost: a\r\nBad Header: secret-value\r\n\r\n".utf8))
                let tooLarge = try TestConnection(port: port)
                try tooLarge.send(Array("POST /api/webhooks/slack HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n".utf8))
                return [try malformed.readResponse().status, try tooLarge.readResponse().status]
            }
            #expect(statuses == [400, 413])
            for status in [400, 413] {
                #expect(hub.logs.all.contains { $0.contains("info http request") && $0.contains("route=rejected") && $0.contains("status=\(status)") })
            }
            #expect(!hub.logs.all.contains { $0.contains("secret-value") })
            let metrics = try await hub.admin("/metrics").text
            #expect(metrics.contains(#"atom_hub_http_rejected_total{status="400"} 1"#))
            #expect(metrics.contains(#"atom_hub_http_rejected_total{status="413"} 1"#))
        }
    }

    @Test("Signed requests with known secrets, tokens and signatures leave none of them in the logs")
    func noSecretsInLogs() async throws {
        let hubSpotSecret = "hubspot-client-secret-7f3a9c"
        let plugins = #"{"providers": {"slack": {"enabled": true}, "hubspot": {"enabled": true, "settings": {"clientSecret": "\#(hubSpotSecret)"}}}}"#
        try await withHub(plugins: plugins) { (hub: TestHub) async throws in
            var sent: [String] = [TestHub.slackSecret, TestHub.adminToken, hubSpotSecret, "legacy-token"]
            for index in 0..<3 {
                let body = SlackSigner.eventBody(id: "EvSECRET\(index)")
                let headers = signer.headers(body: body)
                sent.append(headers.first { $0.0 == "X-Slack-Signature" }!.1)
                #expect(try await hub.request("POST", "/api/webhooks/slack", headers: headers, body: body).status == 200)
            }
            let forged = "v0=" + String(repeating: "ab", count: 32)
            sent.append(forged)
            let body = SlackSigner.eventBody(id: "EvFORGED")
            let refused = try await hub.request(
                "POST", "/api/webhooks/slack", headers: [("X-Slack-Request-Timestamp", "\(Int(Date().timeIntervalSince1970))"), ("X-Slack-Signature", forged)],
                body: body)
            #expect(refused.status == 401)
            let wrongToken = "wrong-admin-token-deadbeef"
            sent.append(wrongToken)
            #expect(try await hub.request("GET", "/api/admin/events", headers: [("Authorization", "Bearer \(wrongToken)")]).status == 401)
            #expect(try await hub.admin("/api/admin/events").status == 200)
            #expect(try await hub.admin("/metrics").status == 200)
            let hubSpotSignature = "c2lnbmF0dXJlLXRoYXQtZG9lcy1ub3QtbWF0Y2g="
            sent.append(hubSpotSignature)
            _ = try await hub.request(
                "POST", "/api/webhooks/hubspot",
                headers: [("X-HubSpot-Signature-v3", hubSpotSignature), ("X-HubSpot-Request-Timestamp", "\(Int(Date().timeIntervalSince1970 * 1000))")],
                body: Array("[]".utf8))
            let log = hub.logs.all.joined(separator: "\n")
            #expect(log.contains("route=/api/webhooks/slack"), "the requests were logged")
            for secret in sent { #expect(!log.contains(secret), "\(secret.prefix(6))… appears in the log") }
        }
    }

    @Test("JSON lines by default, logfmt on request", arguments: LogFormat.allCases)
    func lineFormats(format: LogFormat) throws {
        let line = LogOutput.line(
            format: format, timestamp: "2026-01-01T00:00:00.000Z", level: .info, label: "http", message: "request",
            metadata: [("route", "/api/x y"), ("status", "200"), ("detail", "a\"b\\c\nd\u{1}=")])
        #expect(line.hasSuffix("\n"))
        switch format {
        case .json:
            let object = try JSONValue.parse(Array(line.utf8.dropLast()))
            #expect(object["level"] == "info" && object["label"] == "http" && object["msg"] == "request")
            #expect(object["route"] == "/api/x y" && object["status"] == "200" && object["detail"] == "a\"b\\c\nd\u{1}=")
        case .logfmt:
            #expect(line == #"ts=2026-01-01T00:00:00.000Z level=info label=http msg=request route="/api/x y" status=200 detail="a\"b\\c\nd\u0001=""# + "\n")
        }
    }

    @Test("Log timestamps are RFC 3339 UTC with milliseconds, and the current time")
    func timestamps() throws {
        let before = Date().timeIntervalSince1970
        var bytes: [UInt8] = []
        LogOutput.appendTimestamp(to: &bytes)
        let stamp = String(decoding: bytes, as: UTF8.self)
        let after = Date().timeIntervalSince1970
        #expect(stamp.utf8.count == 24 && stamp.hasSuffix("Z"))
        let seconds = try #require(RFC3339.parse(stamp))
        #expect(seconds >= before.rounded(.down) - 0.001 && seconds <= after + 0.001)
        #expect(Array(stamp.utf8).enumerated().allSatisfy { index, byte in
            [4, 7].contains(index) ? byte == UInt8(ascii: "-") : index == 10 ? byte == UInt8(ascii: "T")
                : [13, 16].contains(index) ? byte == UInt8(ascii: ":") : index == 19 ? byte == UInt8(ascii: ".")
                : index == 23 ? byte == UInt8(ascii: "Z") : (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        })
    }

    @Test("--log-format and LOG_FORMAT choose the format; anything else is a usage error")
    func logFormatOption() throws {
        guard case .serve(let flagged) = try CommandLineInterface.parse(["--log-format", "logfmt"]) else { Issue.record("not serve"); return }
        #expect(flagged.logFormat == .logfmt)
        guard case .serve(let defaulted) = try CommandLineInterface.parse([]) else { Issue.record("not serve"); return }
        #expect(defaulted.logFormat == .json)
        guard case .serve(let fromEnvironment) = try CommandLineInterface.parse([], environment: .values(["LOG_FORMAT": "logfmt"])) else {
            Issue.record("not serve")
            return
        }
        #expect(fromEnvironment.logFormat == .logfmt)
        #expect(throws: CommandLineInterface.UsageError.self) { try CommandLineInterface.parse(["--log-format", "xml"]) }
    }

    @Test("Live log timestamps are UTC with zero-padded fields (2026-01-02T03:04:05.006Z); decimals pad to a width and never truncate")
    func timestampShape() throws {
        var stamp = [UInt8]()
        LogOutput.appendTimestamp(to: &stamp)
        let text = String(decoding: stamp, as: UTF8.self)
        #expect(text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(text)")
        let year = try #require(Int(text.prefix(4)))
        let now = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date())
        #expect(year == now.year || year + 1 == now.year, "the year of now, in UTC")

        for (value, digits, expected) in [(0, 1, "0"), (7, 3, "007"), (2026, 4, "2026"), (12345, 2, "12345"), (404, 1, "404"), (1_000_000, 1, "1000000")] {
            var out = [UInt8]()
            out.appendDecimal(value, digits: digits)
            #expect(String(decoding: out, as: UTF8.self) == expected, "\(value) in \(digits)")
        }
    }
}
