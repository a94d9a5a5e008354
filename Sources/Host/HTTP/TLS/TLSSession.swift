import COpenSSL

#if canImport(Glibc)
import Glibc
#endif

/// The outcome of one read or write on a connection, plain or TLS.
enum TransportResult {
    case bytes(Int)
    /// Nothing now; the (edge-triggered) poller says when to try again.
    case wouldBlock
    /// The peer closed the connection cleanly.
    case closed
    case failed
}

/// One connection's TLS state; used only on its event loop's thread.
final class TLSSession {
    private let ssl: OpaquePointer
    private(set) var handshakeComplete = false

    init(ssl: OpaquePointer) { self.ssl = ssl }

    deinit { SSL_free(ssl) }

    /// Advances the handshake: `.bytes(0)` once complete.
    func handshake() -> TransportResult {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            handshakeComplete = true
            return .bytes(0)
        }
        return classify(result)
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> TransportResult {
        var read = 0
        let result = SSL_read_ex(ssl, buffer, count, &read)
        return result == 1 ? .bytes(read) : classify(result)
    }

    func write(_ buffer: UnsafeRawPointer, count: Int) -> TransportResult {
        var written = 0
        let result = SSL_write_ex(ssl, buffer, count, &written)
        return result == 1 ? .bytes(written) : classify(result)
    }

    /// Sends close_notify (best effort: the socket is closed right after either way).
    func close() {
        if handshakeComplete { SSL_shutdown(ssl) }
    }

    private func classify(_ result: Int32) -> TransportResult {
        let error = SSL_get_error(ssl, result)
        ERR_clear_error()
        switch error {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wouldBlock
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL: return errno == 0 ? .closed : .failed
        default: return .failed
        }
    }
}
