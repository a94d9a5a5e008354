import Foundation
import Testing

@testable import Host

@Suite("Parser fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/corpus")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()  // Checked non-empty below.
    }

    @Test func corpusIsPresent() {
        #expect(Self.files.count >= 10)
    }

    @Test("Every seed and past crash parses without trapping", arguments: files)
    func replay(_ name: String) throws {
        let bytes = Array(try Data(contentsOf: Self.corpus.appendingPathComponent(name)))
        _ = ParserFuzzDriver.run(bytes)
    }

    @Test("The driver sees what the server sees")
    func outcomes() throws {
        func outcome(_ name: String) throws -> ParserFuzzDriver.Outcome {
            ParserFuzzDriver.run(Array(try Data(contentsOf: Self.corpus.appendingPathComponent(name))))
        }
        #expect(try outcome("pipelined").requests == 3)
        #expect(try outcome("post-chunked") == .init(requests: 1, error: nil))
        #expect(try outcome("smuggle-cl-te").error?.status == 400)
        #expect(try outcome("smuggle-cl-cl").error?.status == 400)
        #expect(try outcome("te-gzip").error?.status == 501)
        #expect(try outcome("obs-fold").error?.status == 400)
    }
}
