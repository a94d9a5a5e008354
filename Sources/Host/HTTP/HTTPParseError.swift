/// Why a request could not be read; the connection answers `status` and closes.
struct HTTPParseError: Error, Equatable, CustomStringConvertible {
    /// 400, 413, 417, 431, 501 or 505.
    let status: Int
    let reason: String

    var description: String { "\(status): \(reason)" }

    static func badRequest(_ reason: String) -> HTTPParseError { HTTPParseError(status: 400, reason: reason) }
    static func headerTooLarge(_ reason: String) -> HTTPParseError { HTTPParseError(status: 431, reason: reason) }
    static func bodyTooLarge(limit: Int) -> HTTPParseError {
        HTTPParseError(status: 413, reason: "the body is larger than this route accepts (\(limit) bytes)")
    }
}

/// Byte classes from RFC 9110 / 9112.
enum HTTPGrammar {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon = UInt8(ascii: ":")

    /// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static let isToken: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(UInt8(byte))
        }
    }

    /// field-vchar / SP / HTAB: what a field value may contain (obs-text allowed, controls not).
    static let isFieldValue: [Bool] = (0..<256).map { byte in
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    /// Characters allowed in a request target (visible ASCII, no '#').
    static let isTarget: [Bool] = (0..<256).map { byte in
        byte > 0x20 && byte < 0x7F && byte != Int(UInt8(ascii: "#"))
    }
}
