#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@testable import Host

@Suite("Log sink")
struct LogSinkTests {
    @Test("Lines from many threads all arrive whole, each thread's in order, and flush writes what is pending")
    func linesArriveWholeAndInOrder() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd) }
        let sink = LogSink(descriptor: writeEnd)
        // Read while writing: the lines are more than a pipe holds.
        async let received = Blocking.run { () throws -> String in
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(readEnd, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                bytes += buffer[0..<count]
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let threads = 4, perThread = 5_000
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<threads {
                group.addTask {
                    await Blocking.runNonThrowing {
                        for index in 0..<perThread { sink.append { $0.append(contentsOf: "t\(thread) \(index)\n".utf8) } }
                    }
                }
            }
        }
        sink.flush()
        close(writeEnd)  // Nothing is pending after the flush; the reader sees end of file.
        let text = try await received
        let lines = text.split(separator: "\n")
        #expect(lines.count == threads * perThread)
        for thread in 0..<threads {
            let mine = lines.filter { $0.hasPrefix("t\(thread) ") }.map { Int($0.split(separator: " ")[1])! }
            #expect(mine == Array(0..<perThread))
        }
    }
}
