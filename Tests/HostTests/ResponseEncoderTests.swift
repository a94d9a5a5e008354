import PluginAPI
import Testing

@testable import Host

@Suite("Response encoding")
struct ResponseEncoderTests {
    func encode(_ response: Response, keepAlive: Bool = true, isHTTP11: Bool = true, includeBody: Bool = true) -> String {
        var encoder = ResponseEncoder()
        return String(decoding: encoder.encode(response, keepAlive: keepAlive, isHTTP11: isHTTP11, includeBody: includeBody, logger: .disabled), as: UTF8.self)
    }

    @Test("A header value or name that could split the response is dropped, never written")
    func noResponseSplitting() {
        var response = Response.text("ok")
        response.headers.add(name: "X-Injected", value: "a\r\nSet-Cookie: evil=1")
        response.headers.add(name: "X-Bare-LF", value: "a\nb")
        response.headers.add(name: "Bad Name", value: "v")
        response.headers.add(name: "X-Fine", value: "value")
        let wire = encode(response)
        #expect(!wire.contains("evil"))
        #expect(!wire.contains("X-Injected") && !wire.contains("X-Bare-LF") && !wire.contains("Bad Name"))
        #expect(wire.contains("X-Fine: value\r\n"))
    }

    @Test("The server owns Content-Length, Connection and Date; a handler's copies are ignored")
    func managedFields() {
        var response = Response.text("four")
        response.headers.add(name: "Content-Length", value: "999")
        response.headers.add(name: "Connection", value: "upgrade")
        let wire = encode(response, keepAlive: false)
        #expect(wire.contains("Content-Length: 4\r\n"))
        #expect(!wire.contains("999") && !wire.contains("upgrade"))
        #expect(wire.contains("Connection: close\r\n"))
        #expect(wire.hasSuffix("\r\n\r\nfour"))
    }

    @Test("Status lines and Content-Length digits are exact, and a mixed-case managed field is still dropped", arguments: [0, 9, 10, 99, 100, 65_536, 1_000_000])
    func exactDigits(length: Int) {
        var response = Response(status: length == 0 ? 200 : 201, body: [UInt8](repeating: 0x61, count: length))
        response.headers.add(name: "cOnTeNt-LeNgTh", value: "1")
        let wire = encode(response)
        #expect(wire.hasPrefix(length == 0 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 201 Created\r\n"))
        #expect(wire.contains("\r\nContent-Length: \(length)\r\n") && !wire.contains("cOnTeNt"))
        #expect(encode(Response(status: 299)).hasPrefix("HTTP/1.1 299 Status 299\r\n"))
    }

    @Test("204 has no Content-Length or body; HEAD keeps the length but not the body; HTTP/1.0 keep-alive is explicit")
    func bodiesAndVersions() {
        #expect(!encode(.empty(204)).contains("Content-Length"))
        let head = encode(.text("four"), includeBody: false)
        #expect(head.contains("Content-Length: 4\r\n") && head.hasSuffix("\r\n\r\n"))
        #expect(encode(.text("x"), keepAlive: true, isHTTP11: false).contains("Connection: keep-alive\r\n"))
    }
}
