/// Decodes a chunked request body (RFC 9112 §7.1) incrementally, strictly and within limits:
/// hex sizes without overflow, bounded extensions, trailer fields parsed and discarded.
struct ChunkedDecoder {
    private enum State {
        case size, chunkExtension, sizeLF
        case data(remaining: Int), dataCR, dataLF
        case trailerLineStart, trailerLine, trailerLF, finalLF
        case done
    }

    private var state = State.size
    private var size = 0
    private var sizeDigits = 0
    /// The chunk extensions of the size line being read (after the size), checked at its end.
    private var extensions: [UInt8] = []
    private var trailerLine: [UInt8] = []
    private var trailerBytes = 0
    private var trailerCount = 0
    /// The decoded body so far.
    private(set) var body: [UInt8] = []

    let maxBodyBytes: Int
    let maxTrailerBytes: Int
    let maxTrailerCount: Int
    static let maxExtensionBytes = 4096

    init(maxBodyBytes: Int, maxTrailerBytes: Int, maxTrailerCount: Int) {
        self.maxBodyBytes = maxBodyBytes
        self.maxTrailerBytes = maxTrailerBytes
        self.maxTrailerCount = maxTrailerCount
    }

    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Consumes bytes until the body ends or the input runs out; returns how many were consumed.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch state {
            case .size:
                if let digit = Self.hexValue(byte) {
                    sizeDigits += 1
                    guard sizeDigits <= 15 else { throw .badRequest("chunk size too long") }
                    size = size << 4 | digit
                } else if sizeDigits > 0 && (byte == UInt8(ascii: ";") || byte == HTTPGrammar.space || byte == HTTPGrammar.tab) {
                    extensions.append(byte)
                    state = .chunkExtension
                } else if sizeDigits > 0 && byte == HTTPGrammar.cr {
                    state = .sizeLF
                } else {
                    throw .badRequest("invalid chunk size")
                }
            case .chunkExtension:
                if byte == HTTPGrammar.cr {
                    guard Self.isValidExtensionList(extensions) else { throw .badRequest("malformed chunk extension") }
                    state = .sizeLF
                } else {
                    guard extensions.count < Self.maxExtensionBytes else { throw .badRequest("chunk extension too long") }
                    guard HTTPGrammar.isFieldValue(byte) else { throw .badRequest("invalid character in a chunk extension") }
                    extensions.append(byte)
                }
            case .sizeLF:
                guard byte == HTTPGrammar.lf else { throw .badRequest("chunk size line does not end in CRLF") }
                if size == 0 {
                    state = .trailerLineStart
                } else {
                    // No reserveCapacity here: growing to the exact size per chunk would copy the body every
                    // chunk (quadratic); append's geometric growth keeps many small chunks linear.
                    guard size <= maxBodyBytes - body.count else { throw .bodyTooLarge(limit: maxBodyBytes) }
                    state = .data(remaining: size)
                }
                size = 0
                sizeDigits = 0
                extensions.removeAll(keepingCapacity: true)
            case .data(let remaining):
                let take = min(remaining, bytes.count - index)
                body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + take)]))
                index += take
                state = remaining == take ? .dataCR : .data(remaining: remaining - take)
                continue
            case .dataCR:
                guard byte == HTTPGrammar.cr else { throw .badRequest("chunk data does not end in CRLF") }
                state = .dataLF
            case .dataLF:
                guard byte == HTTPGrammar.lf else { throw .badRequest("chunk data does not end in CRLF") }
                state = .size
            case .trailerLineStart:
                if byte == HTTPGrammar.cr {
                    state = .finalLF
                } else {
                    trailerLine.removeAll(keepingCapacity: true)
                    try appendTrailer(byte)
                    state = .trailerLine
                }
            case .trailerLine:
                if byte == HTTPGrammar.cr {
                    state = .trailerLF
                } else {
                    try appendTrailer(byte)
                }
            case .trailerLF:
                guard byte == HTTPGrammar.lf else { throw .badRequest("a bare CR in the trailer section") }
                trailerCount += 1
                guard trailerCount <= maxTrailerCount else { throw .headerTooLarge("too many trailer fields") }
                _ = try trailerLine.withUnsafeBufferPointer { line throws(HTTPParseError) in try RequestHeadParser.parseField(line) }
                state = .trailerLineStart
            case .finalLF:
                guard byte == HTTPGrammar.lf else { throw .badRequest("the chunked body does not end in CRLF") }
                state = .done
                return index + 1
            case .done:
                return index
            }
            index += 1
        }
        return index
    }

    private mutating func appendTrailer(_ byte: UInt8) throws(HTTPParseError) {
        guard byte != HTTPGrammar.lf else { throw .badRequest("a line ends in LF without CR") }
        trailerBytes += 1
        guard trailerBytes <= maxTrailerBytes else { throw .headerTooLarge("the trailer section is too large") }
        trailerLine.append(byte)
    }

    /// RFC 9112 §7.1.1: `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )` with names
    /// tokens, and at least one extension (whitespace alone after the size is not allowed). llhttp is
    /// as strict; a lenient parser and a strict one in front of it could otherwise disagree on the body.
    static func isValidExtensionList(_ bytes: [UInt8]) -> Bool {
        var index = 0
        func skipWhitespace() { while index < bytes.count, bytes[index] == HTTPGrammar.space || bytes[index] == HTTPGrammar.tab { index += 1 } }
        func token() -> Bool {
            let start = index
            while index < bytes.count, HTTPGrammar.isToken(bytes[index]) { index += 1 }
            return index > start
        }
        func quotedString() -> Bool {
            index += 1  // The opening quote.
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { return true }
                if byte == UInt8(ascii: "\\") {
                    guard index < bytes.count, HTTPGrammar.isFieldValue(bytes[index]) else { return false }
                    index += 1
                }
            }
            return false  // Never closed.
        }
        var sawExtension = false
        while true {
            skipWhitespace()
            if index == bytes.count { return sawExtension }
            guard bytes[index] == UInt8(ascii: ";") else { return false }
            index += 1
            skipWhitespace()
            guard token() else { return false }
            let afterName = index
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "=") {
                index += 1
                skipWhitespace()
                guard index < bytes.count else { return false }
                guard bytes[index] == UInt8(ascii: "\"") ? quotedString() : token() else { return false }
            } else {
                index = afterName
            }
            sawExtension = true
        }
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
