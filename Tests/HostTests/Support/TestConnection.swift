import Foundation
import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// A parsed HTTP response.
struct TestResponse: Sendable {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> JSONValue { try JSONValue.parse(body) }

    /// The `error` member of a JSON error body.
    var errorCode: String? { (try? json())?["error"]?.stringValue }
}

struct TestConnectionError: Error, CustomStringConvertible {
    let description: String
}

/// A blocking client socket to 127.0.0.1, with a receive timeout so a hung server fails the test.
final class TestConnection: @unchecked Sendable {  // Used by one test thread at a time.
    let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`. A `receiveBuffer` shrinks the socket's receive buffer (set before
    /// connecting, so the window is small from the start) to make a slow reader.
    init(port: Int, receiveTimeout: Double = 30, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestConnectionError(description: "socket failed") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            // No close here: the initializer has set every property, so deinit runs and closes fd.
            throw TestConnectionError(description: "connect failed: \(String(cString: strerror(errno)))")
        }
        var timeout = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - receiveTimeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw TestConnectionError(description: "send failed: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads more bytes; false at EOF. Throws on timeout.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        var count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        while count < 0 && errno == EINTR {  // Other tests' child processes exiting send SIGCHLD.
            count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        }
        if count > 0 {
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        if count == 0 { return false }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw TestConnectionError(description: "timed out waiting for the server") }
        if errno == ECONNRESET { return false }
        throw TestConnectionError(description: "recv failed: \(String(cString: strerror(errno)))")
    }

    /// Blocks, without reading, until the peer closes or resets the connection (or `timeout` passes);
    /// true when it did. Unread data does not wake it: only the hang-up does.
    func waitForHangUp(timeout: Double) -> Bool {
        let readHangUp: Int16 = 0x2000  // POLLRDHUP: Linux only, and Glibc does not export it to Swift.
        var entry = pollfd(fd: fd, events: readHangUp, revents: 0)
        while true {
            let result = poll(&entry, 1, Int32(timeout * 1000))
            if result < 0 && errno == EINTR { continue }
            return result > 0 && entry.revents & (readHangUp | Int16(POLLHUP) | Int16(POLLERR)) != 0
        }
    }

    /// Reads until EOF or reset and returns how many bytes arrived.
    func drain() throws -> Int {
        while try fill() {}
        defer { buffer = [] }
        return buffer.count
    }

    /// True when the server closed the connection (EOF or reset) before sending anything more.
    func isClosedByPeer() throws -> Bool {
        if !buffer.isEmpty { return false }
        return try !fill()
    }

    /// Reads one response (Content-Length framed, or to EOF without one). `head` is true for HEAD requests.
    func readResponse(head: Bool = false) throws -> TestResponse {
        var headEnd: Int?
        while headEnd == nil {
            headEnd = findHeadEnd()
            if headEnd == nil {
                guard try fill() else { throw TestConnectionError(description: "connection closed before a response head") }
            }
        }
        let headText = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw TestConnectionError(description: "bad status line: \(statusLine)") }
        let headers: [(String, String)] = lines.map { line in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        buffer.removeFirst(headEnd! + 4)
        let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) }
        var body: [UInt8] = []
        if head || status < 200 || status == 204 || status == 304 {
            body = []
        } else if let length {
            while buffer.count < length {
                guard try fill() else { throw TestConnectionError(description: "connection closed mid-body") }
            }
            body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else {
            while try fill() {}
            body = buffer
            buffer = []
        }
        return TestResponse(status: status, headers: headers, body: body)
    }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4) where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }
}
