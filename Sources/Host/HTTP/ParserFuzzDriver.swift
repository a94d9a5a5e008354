/// Runs arbitrary bytes through request parsing exactly as a connection does (head, then body,
/// then the next pipelined request), and checks that incremental parsing agrees with one-shot
/// parsing. Used by the libFuzzer target (`fuzz/run.sh`) and by the tests that replay its corpus.
/// It must never trap on any input except when an invariant is broken.
enum ParserFuzzDriver {
    /// What the bytes amounted to; the tests replay the corpus and only care that nothing traps.
    struct Outcome: Equatable {
        var requests = 0
        var error: HTTPParseError?
    }

    static func run(_ bytes: [UInt8], maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 64 * 1024) -> Outcome {
        var outcome = Outcome()
        let parser = RequestHeadParser(maxHeaderCount: 100)
        var offset = 0
        bytes.withUnsafeBufferPointer { all in
            do throws(HTTPParseError) {
                while offset < all.count {
                    let rest = UnsafeBufferPointer(rebasing: all[offset...])
                    let searchable = UnsafeBufferPointer(rebasing: rest[0..<min(rest.count, maxHeaderBytes + 4)])
                    guard let end = try RequestHeadParser.headEnd(in: searchable, from: 0) else { return }
                    // Resuming the search from any earlier point must find the same end.
                    let resumed = try RequestHeadParser.headEnd(in: searchable, from: end / 2)
                    precondition(resumed == end, "head end depends on where the scan resumed")
                    let head = try parser.parse(UnsafeBufferPointer(rebasing: rest[0..<end]))
                    offset += end
                    switch head.framing {
                    case .none: break
                    case .length(let length):
                        guard length <= maxBodyBytes else { throw .bodyTooLarge(limit: maxBodyBytes) }
                        guard offset + length <= all.count else { return }
                        offset += length
                    case .chunked:
                        let body = UnsafeBufferPointer(rebasing: all[offset...])
                        var whole = ChunkedDecoder(maxBodyBytes: maxBodyBytes, maxTrailerBytes: maxHeaderBytes, maxTrailerCount: 100)
                        let consumed = try whole.feed(body)
                        try checkSplitFeeding(body, agreesWith: whole, consumed: consumed, maxBodyBytes: maxBodyBytes, maxHeaderBytes: maxHeaderBytes)
                        guard whole.isDone else { return }
                        offset += consumed
                    }
                    outcome.requests += 1
                }
            } catch {
                outcome.error = error
            }
        }
        return outcome
    }

    /// Feeding the same bytes in two pieces must decode the same body and stop at the same place.
    private static func checkSplitFeeding(
        _ body: UnsafeBufferPointer<UInt8>, agreesWith whole: ChunkedDecoder, consumed: Int, maxBodyBytes: Int, maxHeaderBytes: Int
    ) throws(HTTPParseError) {
        guard consumed > 1 else { return }
        let split = consumed / 2 + 1
        var pieces = ChunkedDecoder(maxBodyBytes: maxBodyBytes, maxTrailerBytes: maxHeaderBytes, maxTrailerCount: 100)
        let first = try pieces.feed(UnsafeBufferPointer(rebasing: body[0..<split]))
        precondition(first == split || pieces.isDone, "the decoder stopped early on a partial feed")
        let second = pieces.isDone ? 0 : try pieces.feed(UnsafeBufferPointer(rebasing: body[split..<consumed]))
        precondition(first + second == consumed, "split feeding consumed a different number of bytes")
        precondition(pieces.isDone == whole.isDone && pieces.body == whole.body, "split feeding decoded a different body")
    }
}
