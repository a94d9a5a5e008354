/// Log severities, lowest first.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug, info, warning, error

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }
}

/// A labelled logger. The host decides where lines go and in what format.
///
/// Never pass secrets, tokens or signatures in a message or metadata.
public struct Logger: Sendable {
    /// Receives each record at or above `minimumLevel`.
    public typealias Sink = @Sendable (_ level: LogLevel, _ label: String, _ message: String, _ metadata: [(String, String)]) -> Void

    public var label: String
    public var minimumLevel: LogLevel
    private let sink: Sink

    public init(label: String, minimumLevel: LogLevel = .info, sink: @escaping Sink) {
        self.label = label
        self.minimumLevel = minimumLevel
        self.sink = sink
    }

    /// A logger that discards everything.
    public static let disabled = Logger(label: "", minimumLevel: .error, sink: { _, _, _, _ in })

    /// The same destination under another label.
    public func labelled(_ label: String) -> Logger {
        Logger(label: label, minimumLevel: minimumLevel, sink: sink)
    }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) {
        guard level >= minimumLevel else { return }
        sink(level, label, message(), metadata)
    }

    public func debug(_ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) { log(.debug, message(), metadata) }
    public func info(_ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) { log(.info, message(), metadata) }
    public func warning(_ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) { log(.warning, message(), metadata) }
    public func error(_ message: @autoclosure () -> String, _ metadata: [(String, String)] = []) { log(.error, message(), metadata) }
}
