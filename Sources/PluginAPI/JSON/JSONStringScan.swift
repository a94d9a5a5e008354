/// Finds the bytes a JSON string literal cannot hold as they are: the quote, the backslash and control
/// characters (RFC 8259 §7). The parser stops there, and the serializer escapes from there.
///
/// Most strings in webhook bodies contain none of them, so the scan reads eight bytes at a time and
/// tests all eight at once: one byte at a time, it was the parser's and serializer's largest own cost.
enum JSONStringScan {
    /// The index of the first quote, backslash or control character in `bytes[start...]` (or
    /// `bytes.count`), and whether every byte before it is ASCII.
    static func firstSpecialByte(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (index: Int, ascii: Bool) {
        var index = start
        var highBits: UInt64 = 0
        if let base = bytes.baseAddress {
            while index + 8 <= bytes.count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if containsSpecialByte(word) { break }
                highBits |= word
                index += 8
            }
        }
        var ascii = highBits & 0x8080_8080_8080_8080 == 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { break }
            ascii = ascii && byte < 0x80
            index += 1
        }
        return (index, ascii)
    }

    /// Whether any of the eight bytes of `word` is below 0x20, a quote or a backslash. Each test is
    /// exact: a byte's borrow can only set a false flag above a byte that already matched.
    @inline(__always)
    private static func containsSpecialByte(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        return (control | ((quote &- ones) & ~quote & highs) | ((backslash &- ones) & ~backslash & highs)) != 0
    }
}
