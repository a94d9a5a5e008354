import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("HTTP/1.1 server over real sockets")
struct HTTPServerTests {
    struct BadRequest: CustomTestStringConvertible, Sendable {
        let name: String
        let raw: String
        let status: Int
        var testDescription: String { name }
    }

    static let badRequests: [BadRequest] = [
        BadRequest(name: "Content-Length with Transfer-Encoding", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400),
        BadRequest(name: "duplicate Content-Length", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd", status: 400),
        BadRequest(name: "list Content-Length", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd", status: 400),
        BadRequest(name: "negative Content-Length", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", status: 400),
        BadRequest(name: "overflowing Content-Length", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", status: 400),
        BadRequest(name: "Transfer-Encoding not ending in chunked", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", status: 400),
        BadRequest(name: "unsupported transfer coding", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", status: 501),
        BadRequest(name: "invalid chunk size", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", status: 400),
        BadRequest(name: "overflowing chunk size", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", status: 400),
        BadRequest(name: "unterminated quoted chunk extension", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"x\r\nabc\r\n0\r\n\r\n", status: 400),
        BadRequest(name: "chunk size followed by text that is no extension", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 junk\r\nabc\r\n0\r\n\r\n", status: 400),
        BadRequest(name: "HTTP/1.1 without Host", raw: "GET /healthz HTTP/1.1\r\n\r\n", status: 400),
        BadRequest(name: "two Host fields", raw: "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400),
        BadRequest(name: "whitespace before colon", raw: "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", status: 400),
        BadRequest(name: "obs-fold", raw: "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  continued\r\n\r\n", status: 400),
        BadRequest(name: "bare CR in a field", raw: "GET /healthz HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", status: 400),
        BadRequest(name: "bare LF line ending", raw: "GET /healthz HTTP/1.1\nHost: x\n\n", status: 400),
        BadRequest(name: "NUL in a field value", raw: "GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\u{0}b\r\n\r\n", status: 400),
        BadRequest(name: "malformed request line", raw: "GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n", status: 400),
        BadRequest(name: "unsupported method", raw: "BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n", status: 501),
        BadRequest(name: "unsupported version", raw: "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", status: 505),
        BadRequest(name: "garbage version", raw: "GET /healthz HTCPCP/1.0\r\nHost: x\r\n\r\n", status: 400),
        BadRequest(name: "Transfer-Encoding in HTTP/1.0", raw: "POST /api/webhooks/slack HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400),
        BadRequest(name: "unknown expectation", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", status: 417),
        BadRequest(name: "empty Transfer-Encoding with Content-Length", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\nContent-Length: 4\r\n\r\nabcd", status: 400),
        BadRequest(name: "Transfer-Encoding of only commas", raw: "POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,\r\n\r\n", status: 400),
        BadRequest(name: "relative target", raw: "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", status: 400),
    ]

    @Test("Malformed or ambiguous requests get an error and the connection closes", arguments: badRequests)
    func rejectsAndCloses(_ bad: BadRequest) async throws {
        try await withHub { hub in
            let port = hub.port
            let (response, closed) = try await Blocking.run {
                let connection = try TestConnection(port: port)
                try connection.send(bad.raw)
                let response = try connection.readResponse()
                return (response, try connection.isClosedByPeer())
            }
            #expect(response.status == bad.status)
            #expect(response.header("Connection") == "close")
            #expect(response.errorCode != nil)
            #expect(closed, "the server must close after a framing error")
        }
    }

    @Test("A head over the limit gets 431")
    func headerTooLarge() async throws {
        var server = ServerConfiguration()
        server.maxHeaderBytes = 1024
        try await withHub(server: server) { hub in
            let response = try await hub.raw(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 2000))\r\n\r\n".utf8))
            #expect(response.status == 431)
        }
    }

    @Test("Too many header fields get 431")
    func tooManyHeaders() async throws {
        var server = ServerConfiguration()
        server.maxHeaderCount = 10
        try await withHub(server: server) { hub in
            let fields = (0..<11).map { "X-\($0): v\r\n" }.joined()
            let response = try await hub.raw(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\(fields)\r\n".utf8))
            #expect(response.status == 431)
        }
    }

    @Test("A chunked body with extensions and trailers is decoded and verified")
    func chunkedBody() async throws {
        try await withHub { hub in
            let body = SlackSigner.eventBody(id: "EvCHUNKED")
            let headers = SlackSigner().headers(body: body).map { "\($0.0): \($0.1)\r\n" }.joined()
            let half = body.count / 2
            var raw = Array("POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\(headers)\r\n".utf8)
            raw += Array("\(String(half, radix: 16));name=value\r\n".utf8) + body[0..<half] + Array("\r\n".utf8)
            raw += Array("\(String(body.count - half, radix: 16))\r\n".utf8) + body[half...] + Array("\r\n".utf8)
            raw += Array("0\r\nX-Trailer: done\r\n\r\n".utf8)
            let response = try await hub.raw(raw)
            #expect(response.status == 200)
            #expect(try await hub.storedEvents().first?["external_id"] == "EvCHUNKED")
        }
    }

    @Test("Chunk extensions follow RFC 9112's grammar: names are tokens, values tokens or quoted strings")
    func chunkExtensionGrammar() {
        for valid in [";a", ";a=b", " ; a = b", ";a=\"x y\";b", ";a=\"q\\\"uote\"", ";a;b=c ", "\t;a"] {
            #expect(ChunkedDecoder.isValidExtensionList(Array(valid.utf8)), "\(valid)")
        }
        for invalid in [" ", "junk", ";", ";=b", ";a=", ";a=\"open", ";a=b c", ";a=\"x\"y", ";a b", ";a=(b)"] {
            #expect(!ChunkedDecoder.isValidExtensionList(Array(invalid.utf8)), "\(invalid)")
        }
    }

    @Test("A connection gives back the room a large body needed even when the next request's first bytes are already buffered")
    func largeBufferIsReleased() {
        let connection = Connection(fd: -1, id: 1, remoteAddress: "")
        connection.inbound = [UInt8](repeating: 0x61, count: 1 << 20) + Array("G".utf8)
        connection.consumeInbound(1 << 20)
        #expect(connection.inbound == Array("G".utf8))
        #expect(connection.inbound.capacity <= Connection.keptCapacity)
    }

    @Test("Pipelined requests are answered in order on one connection")
    func pipelining() async throws {
        try await withHub { hub in
            let port = hub.port
            let statuses = try await Blocking.run {
                let connection = try TestConnection(port: port)
                try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                return try (0..<3).map { _ in try connection.readResponse().status }
            }
            #expect(statuses == [200, 404, 200])
        }
    }

    @Test("A request that arrives while the previous one is still being answered is read and answered after it")
    func requestDuringHandling() async throws {
        // The server stops reading while a handler runs; the bytes of the next request arrive then,
        // and epoll reports them only once (edge-triggered), so the server must remember to read them.
        let (started, startedSignal) = AsyncStream<Void>.makeStream()
        let (release, releaseSignal) = AsyncStream<Void>.makeStream()
        let fake = try FakeServer { request in
            if request.path == "/slow" {
                startedSignal.yield()
                for await _ in release { break }
            }
            return .text(request.path)
        }
        let port = fake.port
        let connection = try TestConnection(port: port, receiveTimeout: 10)
        try connection.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        for await _ in started { break }
        try connection.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        releaseSignal.yield()
        let bodies = try await Blocking.run { try (0..<2).map { _ in String(decoding: try connection.readResponse().body, as: UTF8.self) } }
        #expect(bodies == ["/slow", "/fast"])
        await fake.stop()
    }

    @Test("Keep-alive by default in HTTP/1.1; HTTP/1.0 closes unless asked")
    func keepAliveSemantics() async throws {
        try await withHub { hub in
            let port = hub.port
            let (first, second, legacy, legacyClosed) = try await Blocking.run {
                let connection = try TestConnection(port: port)
                try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                let first = try connection.readResponse()
                try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                let second = try connection.readResponse()
                let old = try TestConnection(port: port)
                try old.send("GET /healthz HTTP/1.0\r\n\r\n")
                let legacy = try old.readResponse()
                return (first, second, legacy, try old.isClosedByPeer())
            }
            #expect(first.status == 200 && first.header("Connection") == nil)
            #expect(second.status == 200)
            #expect(legacy.status == 200 && legacy.header("Connection") == "close")
            #expect(legacyClosed)
        }
    }

    @Test("HTTP/1.0 with both keep-alive and close closes")
    func closeWinsInHTTP10() async throws {
        try await withHub { hub in
            let port = hub.port
            let (response, closed) = try await Blocking.run {
                let connection = try TestConnection(port: port)
                try connection.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n")
                let response = try connection.readResponse()
                return (response, try connection.isClosedByPeer())
            }
            #expect(response.header("Connection") == "close")
            #expect(closed)
        }
    }

    @Test("HEAD gets the headers of GET without a body")
    func head() async throws {
        try await withHub { hub in
            let port = hub.port
            let (response, next) = try await Blocking.run {
                let connection = try TestConnection(port: port)
                try connection.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                return (try connection.readResponse(head: true), try connection.readResponse())
            }
            #expect(response.status == 200)
            #expect(response.header("Content-Length") == "15")
            #expect(next.text == #"{"status":"ok"}"#, "no body bytes were sent for HEAD, so the next response parses cleanly")
        }
    }

    @Test("Expect: 100-continue gets an interim response before the body")
    func expectContinue() async throws {
        try await withHub { hub in
            let port = hub.port
            let body = SlackSigner.eventBody(id: "EvCONTINUE")
            let headers = SlackSigner().headers(body: body).map { "\($0.0): \($0.1)\r\n" }.joined()
            let (interim, final) = try await Blocking.run {
                let connection = try TestConnection(port: port)
                try connection.send("POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: \(body.count)\r\n\(headers)\r\n")
                let interim = try connection.readResponse()
                try connection.send(body)
                return (interim, try connection.readResponse())
            }
            #expect(interim.status == 100)
            #expect(final.status == 200)
        }
    }

    @Test("Responses carry Date and Content-Length")
    func responseHeaders() async throws {
        try await withHub { hub in
            let response = try await hub.request("GET", "/healthz")
            #expect(response.header("Content-Length") == "\(response.body.count)")
            let date = try #require(response.header("Date"))
            #expect(date.hasSuffix(" GMT") && date.count == 29)
        }
    }

    @Test("A client that sends half a head is answered 408 and cut off")
    func headerTimeout() async throws {
        var server = ServerConfiguration()
        server.headerReadTimeout = .milliseconds(200)
        try await withHub(server: server) { hub in
            let port = hub.port
            let (response, closed) = try await Blocking.run {
                let connection = try TestConnection(port: port)
                try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                let response = try connection.readResponse()
                return (response, try connection.isClosedByPeer())
            }
            #expect(response.status == 408)
            #expect(closed)
        }
    }

    @Test("An idle keep-alive connection is closed after the idle timeout")
    func idleTimeout() async throws {
        var server = ServerConfiguration()
        server.idleTimeout = .milliseconds(200)
        try await withHub(server: server) { hub in
            let port = hub.port
            let closed = try await Blocking.run {
                let connection = try TestConnection(port: port)
                try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                _ = try connection.readResponse()
                return try connection.isClosedByPeer()  // Blocks until the server closes (or the 10 s receive timeout fails the test).
            }
            #expect(closed)
        }
    }

    @Test("Connections opened at once are spread evenly over the event loops, and each is served")
    func connectionsSpreadOverLoops() async throws {
        try await withHub { hub in
            let (port, server) = (hub.port, hub.hub.server)
            let (statuses, perLoop) = try await Blocking.run {
                let connections = try (0..<10).map { _ in try TestConnection(port: port) }
                for connection in connections { try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") }
                let statuses = try connections.map { try $0.readResponse().status }
                return (statuses, server.connectionsPerLoop)  // Counted while all ten are still open.
            }
            #expect(statuses == Array(repeating: 200, count: 10))
            #expect(perLoop == [5, 5])
        }
    }

    @Test("Beyond the connection limit a new connection is answered 503 and closed")
    func connectionLimit() async throws {
        var server = ServerConfiguration()
        server.maxConnections = 2
        try await withHub(server: server) { hub in
            let port = hub.port
            let status = try await Blocking.run {
                let first = try TestConnection(port: port)
                let second = try TestConnection(port: port)
                // Make sure both are accepted before the third arrives.
                for connection in [first, second] {
                    try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    _ = try connection.readResponse()
                }
                let third = try TestConnection(port: port)
                return try third.readResponse().status
            }
            #expect(status == 503)
        }
    }
}

@Suite("Chunked bodies of many small chunks")
struct ManySmallChunksTests {
    @Test("A 1 MiB body in 16-byte chunks is decoded exactly (the decoder grows its buffer geometrically)")
    func manySmallChunks() throws {
        var decoder = ChunkedDecoder(maxBodyBytes: 1 << 20, maxTrailerBytes: 1024, maxTrailerCount: 10)
        let piece = Array("0123456789abcdef".utf8)
        var wire: [UInt8] = []
        for _ in 0..<(1 << 16) { wire += Array("10\r\n".utf8) + piece + Array("\r\n".utf8) }
        wire += Array("0\r\n\r\n".utf8)
        var offset = 0
        while offset < wire.count {  // Fed in 64 KiB reads, as the event loop does.
            let end = min(wire.count, offset + 65536)
            offset += try wire[offset..<end].withUnsafeBufferPointer { try decoder.feed($0) }
        }
        #expect(decoder.isDone)
        #expect(decoder.body.count == 1 << 20)
        #expect(decoder.body.prefix(16) == piece[...] && decoder.body.suffix(16) == piece[...])
    }
}
