extension [UInt8] {
    /// Appends the decimal digits of a non-negative `value`, zero-padded to at least `digits` (status
    /// lines, Content-Length and log timestamps are written this way on every request, without a String).
    mutating func appendDecimal(_ value: Int, digits: Int = 1) {
        var divisor = 1
        var width = 1
        while width < digits || divisor <= value / 10 {
            divisor *= 10
            width += 1
        }
        var remaining = value
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: remaining / divisor % 10))
            remaining %= divisor
            divisor /= 10
        }
    }
}
