import PluginAPI
import Synchronization

/// The request id carried in `X-Request-ID`: the caller's when it is safe to log, else a new one.
enum RequestID {
    static let header = "X-Request-ID"
    /// The longest id accepted from a caller.
    static let maximumLength = 128

    /// The caller's id when it is 1–128 characters of `A-Z a-z 0-9 - _ . : /`, else a new random one.
    static func take(from headers: HTTPHeaders) -> String {
        if let value = headers[header], isAcceptable(value) { return value }
        return generate()
    }

    static func isAcceptable(_ value: String) -> Bool {
        let bytes = value.utf8
        guard (1...maximumLength).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "/"): true
            default: false
            }
        }
    }

    /// 32 hex digits: a random prefix drawn once per process, then a counter. Unique without a
    /// random draw per request; an id names a request in the logs and grants nothing, so it need not
    /// be unpredictable.
    static func generate() -> String {
        let sequence = counter.wrappingAdd(1, ordering: .relaxed).newValue
        // Written digit by digit into one allocation: this runs for every request.
        return String(unsafeUninitializedCapacity: 32) { buffer in
            for (index, byte) in prefix.enumerated() { buffer[index] = byte }
            for nibble in 0..<16 {
                buffer[16 + nibble] = Hex.digits[Int(truncatingIfNeeded: (sequence >> UInt64(60 - 4 * nibble)) & 0xF)]
            }
            return 32
        }
    }

    private static let prefix: [UInt8] = Array(Hex.encode(SecureRandom.bytes(8)).utf8)
    private static let counter = Atomic<UInt64>(0)
}
