import PluginAPI

/// A user's keyword query turned into an FTS5 expression: words are matched as terms (any of them,
/// ranked by BM25), `"quoted text"` as a phrase, `word*` as a prefix, and upper-case `AND`, `OR`,
/// `NOT` and parentheses pass through as FTS5 operators. Common English stop words are dropped
/// outside phrases unless nothing else is left. An unbalanced quote is a 400; FTS5 reports other
/// syntax errors, which the caller also turns into 400.
struct KeywordQuery: Sendable, Equatable {
    /// The FTS5 MATCH expression; nil when the query has no searchable word.
    let expression: String?

    static let stopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of", "on", "or",
        "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
    ]

    init(_ text: String) throws(HTTPError) {
        var parts: [(text: String, isWord: Bool)] = []
        var rest = Substring(text)
        while let first = rest.first {
            if first == "\"" {
                guard let end = rest.dropFirst().firstIndex(of: "\"") else { throw .badRequest("the query has an unbalanced '\"'") }
                let words = Tokenizer.words(String(rest[rest.index(after: rest.startIndex)..<end]))
                if !words.isEmpty { parts.append(("\"" + words.joined(separator: " ") + "\"", false)) }
                rest = rest[rest.index(after: end)...]
            } else if first == "(" || first == ")" {
                parts.append((String(first), false))
                rest = rest.dropFirst()
            } else if first.isLetter || first.isNumber {
                let word = rest.prefix { $0.isLetter || $0.isNumber }
                rest = rest.dropFirst(word.count)
                if ["AND", "OR", "NOT"].contains(word) {
                    parts.append((String(word), false))
                } else if rest.first == "*" {
                    rest = rest.dropFirst()
                    parts.append(("\"\(word.lowercased())\" *", false))
                } else {
                    parts.append((word.lowercased(), true))
                }
            } else {
                rest = rest.dropFirst()
            }
        }
        let meaningful = parts.filter { !$0.isWord || !Self.stopWords.contains($0.text) }
        let kept = meaningful.contains(where: { $0.isWord || $0.text.hasPrefix("\"") }) ? meaningful : parts
        let hasOperators = kept.contains { ["AND", "OR", "NOT", "(", ")"].contains($0.text) }
        let terms = kept.map { $0.isWord ? "\"\($0.text)\"" : $0.text }
        // Plain words match any of them (BM25 ranks documents with more and rarer ones first); with explicit operators FTS5's own grammar applies.
        expression = terms.isEmpty ? nil : terms.joined(separator: hasOperators ? " " : " OR ")
    }
}
