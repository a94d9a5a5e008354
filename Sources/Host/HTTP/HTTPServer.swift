import CLinux
import Foundation
import PluginAPI
import Synchronization

/// A failure starting or running the server.
enum ServerError: Error, CustomStringConvertible {
    case system(String, Int32)
    case invalidHost(String)

    var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(System.errorDescription(code))"
        case .invalidHost(let host): "'\(host)' is not an IPv4 or IPv6 address"
        }
    }
}

/// Our HTTP/1.1 server: one listening socket shared by `eventLoops` epoll threads.
final class HTTPServer: Sendable {
    let configuration: ServerConfiguration
    private let responder: any HTTPResponder
    private let logger: Logger
    private let openConnections = Atomic<Int>(0)
    private let state = Mutex<(loops: [EventLoop], listenFD: Int32, port: Int)>(([], -1, 0))
    private let finished = DispatchGroup()

    init(configuration: ServerConfiguration, responder: any HTTPResponder, logger: Logger) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
    }

    /// Binds, starts the event loops and returns the port it listens on.
    func start() throws -> Int {
        var tls: TLSContext?
        if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath {
            tls = try TLSContext(certificateChainPath: certificate, privateKeyPath: key)
        }
        _ = atom_raise_nofile_limit()
        let fd = atom_listen(configuration.host, Int32(configuration.port), 4096)
        if fd == -2 { throw ServerError.invalidHost(configuration.host) }
        guard fd >= 0 else { throw ServerError.system("listen on \(configuration.host):\(configuration.port)", errno) }
        let port = Int(atom_local_port(fd))
        var loops: [EventLoop] = []
        do {
            for _ in 0..<configuration.eventLoops {
                loops.append(
                    try EventLoop(server: self, listenFD: fd, configuration: configuration, tls: tls, responder: responder, logger: logger))
            }
        } catch {
            close(fd)
            throw error
        }
        state.withLock { $0 = (loops, fd, port) }
        for (index, loop) in loops.enumerated() {
            finished.enter()
            System.startThread(named: "atom.http.\(index)") { [finished] in
                loop.run()
                finished.leave()
            }
        }
        return port
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), closes the rest; blocks until done.
    func shutdown() {
        let (loops, fd) = state.withLock { ($0.loops, $0.listenFD) }
        for loop in loops { loop.beginShutdown() }
        if fd >= 0 { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }  // Stop listening now: new connections are refused.
        finished.wait()
        if fd >= 0 { close(fd) }
        state.withLock { $0 = ([], -1, 0) }
    }

    /// The loop that serves a connection `loop` just accepted: the one with the fewest connections
    /// (`loop` itself on a tie, so nothing is handed over needlessly), counted for it at once. Without
    /// this, the connections of a burst (a client's pool opening at once) go to whichever loop's
    /// `epoll_wait` happens to wake, and one loop can end up with twice the other's share of the load.
    func loopForNewConnection(acceptedBy loop: EventLoop) -> EventLoop {
        let loops = state.withLock { $0.loops }
        var chosen = loop
        var fewest = loop.load.load(ordering: .relaxed)
        for candidate in loops where candidate !== loop {
            let count = candidate.load.load(ordering: .relaxed)
            if count < fewest { (chosen, fewest) = (candidate, count) }
        }
        chosen.load.add(1, ordering: .relaxed)
        return chosen
    }

    /// Each event loop's count of open connections, in loop order (what the balancing above reads).
    var connectionsPerLoop: [Int] { state.withLock { $0.loops }.map { $0.load.load(ordering: .relaxed) } }

    func reserveConnectionSlot() -> Bool {
        let previous = openConnections.add(1, ordering: .relaxed).oldValue
        if previous >= configuration.maxConnections {
            openConnections.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func releaseConnectionSlot() {
        openConnections.subtract(1, ordering: .relaxed)
    }
}
