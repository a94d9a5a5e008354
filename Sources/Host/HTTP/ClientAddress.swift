import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// The address a request came from, as the audit log, the admin gate's failure limit and the logs use it.
///
/// It is the TCP peer, unless the peer is one of the configured trusted proxies: then it is taken
/// from `X-Forwarded-For`, read from the right (the entry the nearest proxy appended) past every
/// trusted proxy to the first address that is not one. Entries further left were written by the
/// client and could be anything. An entry that is not an IP address ends the walk at the last good
/// hop, so a forged or garbled header can never yield text that is not an address.
struct ClientAddress: Sendable {
    /// Trusted proxies, in canonical text (as `inet_ntop` writes it).
    let trustedProxies: Set<String>

    /// Parses `proxies` (IPv4 or IPv6 literals), or names the first that is not one.
    static func trusting(_ proxies: [String]) -> Result<ClientAddress, InvalidAddress> {
        var canonical: Set<String> = []
        for proxy in proxies {
            guard let address = Self.canonical(proxy) else { return .failure(InvalidAddress(text: proxy)) }
            canonical.insert(address)
        }
        return .success(ClientAddress(trustedProxies: canonical))
    }

    struct InvalidAddress: Error {
        let text: String
    }

    /// The client's address for a request from `peer` (as `inet_ntop` wrote it when the connection
    /// was accepted) with `headers`.
    func resolve(peer: String, headers: HTTPHeaders) -> String {
        guard !trustedProxies.isEmpty, trustedProxies.contains(peer) else { return peer }
        var client = peer
        for entry in headers.values(for: "X-Forwarded-For").flatMap({ $0.split(separator: ",") }).reversed() {
            guard let address = Self.canonical(entry.trimmingOWS()) else { break }
            client = address
            if !trustedProxies.contains(address) { break }
        }
        return client
    }

    /// `text` as `inet_ntop` writes it when it is an IPv4 or IPv6 literal, else nil.
    static func canonical<Text: StringProtocol>(_ text: Text) -> String? {
        let text = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return presentation(AF_INET, &v4) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return presentation(AF_INET6, &v6) }
        return nil
    }

    /// What one client is counted as when failures are limited: an IPv6 address by its /64 (one host
    /// or site usually holds a whole /64, so counting each address would let it guess on from 2⁶⁴ of
    /// them), an IPv4-mapped one as its IPv4 address, any other text as it is.
    static func limitKey(_ address: String) -> String {
        var v6 = in6_addr()
        guard address.contains(":"), inet_pton(AF_INET6, address, &v6) == 1 else { return address }
        return withUnsafeMutableBytes(of: &v6) { bytes in
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return "\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])"
            }
            for index in 8..<16 { bytes[index] = 0 }
            return (presentation(AF_INET6, bytes.baseAddress!) ?? address) + "/64"
        }
    }

    private static func presentation(_ family: Int32, _ address: UnsafeRawPointer) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
