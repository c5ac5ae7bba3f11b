import Foundation
import HTTPServer

/// A value inside a chat template.
enum ChatTemplateValue: Equatable, Sendable {
    case string(String)
    case bool(Bool)
    case int(Int)
    case list([ChatTemplateValue])
    case dictionary([String: ChatTemplateValue])
    /// A missing key or attribute: renders as nothing and is false, as in Jinja.
    case undefined

    var isTrue: Bool {
        switch self {
        case .string(let s): return !s.isEmpty
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .list(let l): return !l.isEmpty
        case .dictionary(let d): return !d.isEmpty
        case .undefined: return false
        }
    }

    var text: String {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .list, .dictionary: return ""
        case .undefined: return ""
        }
    }
}

indirect enum ChatTemplateExpression: Sendable {
    case literal(ChatTemplateValue)
    case variable(String)
    case member(ChatTemplateExpression, ChatTemplateExpression)
    case not(ChatTemplateExpression)
    case and(ChatTemplateExpression, ChatTemplateExpression)
    case or(ChatTemplateExpression, ChatTemplateExpression)
    case equal(ChatTemplateExpression, ChatTemplateExpression, negated: Bool)
    case concat(ChatTemplateExpression, ChatTemplateExpression)
    case trim(ChatTemplateExpression)
}

indirect enum ChatTemplateNode: Sendable {
    case text(String)
    case output(ChatTemplateExpression)
    case loop(variable: String, over: ChatTemplateExpression, body: [ChatTemplateNode])
    case branches([(condition: ChatTemplateExpression, body: [ChatTemplateNode])], otherwise: [ChatTemplateNode])
}

/// Parses the Jinja subset chat templates of simple models use, with transformers'
/// settings (`trim_blocks`, `lstrip_blocks`) and `-` whitespace control:
///
/// - `{% for message in messages %}` … `{% endfor %}` (also over a loop variable's list);
/// - `{% if %}` / `{% elif %}` / `{% else %}` / `{% endif %}`;
/// - `{{ expression }}` and `{# comments #}`;
/// - expressions: string and integer literals, `true`/`false`, variables (`messages`,
///   `bos_token`, `eos_token`, `add_generation_prompt`, `loop` and the loop variable),
///   `x.name`, `x['name']`, `x[0]`, `==`, `!=`, `and`, `or`, `not`, `+`/`~` (concatenation),
///   parentheses and the `trim` filter.
///
/// Everything else (`set`, macros, function calls such as `raise_exception`, other filters,
/// tests with `is`, slices, other variables such as `tools`) is refused with
/// `ChatTemplateError.unsupported` naming it. Nothing in a template is ever executed.
enum ChatTemplateParser {
    static func parse(_ text: String, source: String) throws -> [ChatTemplateNode] {
        let pieces = try split(text, source: source)
        var index = 0
        var bound: Set<String> = ["messages", "bos_token", "eos_token", "add_generation_prompt"]
        let (nodes, end) = try parseBlock(pieces, &index, bound: &bound, source: source)
        if let end { throw ChatTemplateError.syntax("'{% \(end) %}' without its opening tag", source: source) }
        return nodes
    }

    // MARK: Lexing the template into text, outputs and tags

    enum Piece {
        case text(String)
        case output(String)
        case tag(String)
    }

    /// Splits on `{{ }}`, `{% %}` and `{# #}`, applying `-` markers, trim_blocks and lstrip_blocks.
    static func split(_ text: String, source: String) throws -> [Piece] {
        var pieces: [Piece] = []
        var rest = Substring(text)
        var trimNextLeading = false
        var dropNextNewline = false
        while !rest.isEmpty {
            guard let open = rest.firstRange(where: ["{{", "{%", "{#"]) else {
                pieces.append(.text(adjust(String(rest), trimLeading: trimNextLeading, dropNewline: dropNextNewline)))
                break
            }
            var before = adjust(
                String(rest[..<open.lowerBound]), trimLeading: trimNextLeading,
                dropNewline: dropNextNewline)
            let kind = rest[open]
            let closer = kind == "{{" ? "}}" : kind == "{%" ? "%}" : "#}"
            var inner = rest[open.upperBound...]
            guard let close = inner.range(of: closer) else {
                throw ChatTemplateError.syntax("'\(kind)' is never closed with '\(closer)'", source: source)
            }
            var body = inner[..<close.lowerBound]
            inner = inner[close.upperBound...]
            if body.hasPrefix("-") {
                body = body.dropFirst()
                before = String(before.reversed().drop(while: \.isWhitespace).reversed())
            } else if kind == "{%" || kind == "{#" {
                // lstrip_blocks: spaces and tabs from the line start up to a block tag go.
                let tail = before.reversed().prefix(while: { $0 == " " || $0 == "\t" })
                let head = before.dropLast(tail.count)
                if head.isEmpty || head.hasSuffix("\n") { before = String(head) }
            }
            trimNextLeading = false
            dropNextNewline = false
            if body.hasSuffix("-") {
                body = body.dropLast()
                trimNextLeading = true
            } else if kind != "{{" {
                dropNextNewline = true  // trim_blocks
            }
            if !before.isEmpty { pieces.append(.text(before)) }
            let content = body.trimmingCharacters(in: .whitespacesAndNewlines)
            if kind == "{{" { pieces.append(.output(content)) } else if kind == "{%" { pieces.append(.tag(content)) }
            rest = inner
        }
        return pieces
    }

    private static func adjust(_ text: String, trimLeading: Bool, dropNewline: Bool) -> String {
        if trimLeading { return String(text.drop(while: \.isWhitespace)) }
        if dropNewline, text.hasPrefix("\n") { return String(text.dropFirst()) }
        return text
    }

    // MARK: Blocks

    /// Nodes up to an `endfor`/`endif`/`elif`/`else` tag, which is returned (with its text).
    private static func parseBlock(
        _ pieces: [Piece], _ index: inout Int, bound: inout Set<String>,
        source: String
    ) throws -> ([ChatTemplateNode], String?) {
        var nodes: [ChatTemplateNode] = []
        while index < pieces.count {
            let piece = pieces[index]
            index += 1
            switch piece {
            case .text(let text):
                nodes.append(.text(text))
            case .output(let text):
                nodes.append(.output(try ExpressionParser.parse(text, bound: bound, source: source)))
            case .tag(let tag):
                let keyword = tag.prefix(while: { !$0.isWhitespace })
                switch keyword {
                case "for":
                    nodes.append(try parseFor(tag, pieces, &index, bound: &bound, source: source))
                case "if":
                    nodes.append(try parseIf(String(tag.dropFirst(2)), pieces, &index, bound: &bound, source: source))
                case "endfor", "endif", "elif", "else":
                    return (nodes, tag)
                default:
                    throw ChatTemplateError.unsupported(construct: "'{% \(keyword) %}'", source: source)
                }
            }
        }
        return (nodes, nil)
    }

    private static func parseFor(
        _ tag: String, _ pieces: [Piece], _ index: inout Int, bound: inout Set<String>,
        source: String
    ) throws -> ChatTemplateNode {
        let words = tag.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 4, words[2] == "in", ExpressionParser.isIdentifier(String(words[1])) else {
            throw ChatTemplateError.unsupported(
                construct: "'{% \(tag) %}' (only 'for NAME in EXPRESSION')",
                source: source)
        }
        let variable = String(words[1])
        let iterable = try ExpressionParser.parse(words[3...].joined(separator: " "), bound: bound, source: source)
        let saved = bound
        bound.formUnion([variable, "loop"])
        let (body, end) = try parseBlock(pieces, &index, bound: &bound, source: source)
        bound = saved
        guard end == "endfor" else {
            let ending = end.map { "'{% \($0) %}'" } ?? "the end of the template"
            throw ChatTemplateError.syntax("'{% for %}' ended by \(ending)", source: source)
        }
        return .loop(variable: variable, over: iterable, body: body)
    }

    private static func parseIf(
        _ condition: String, _ pieces: [Piece], _ index: inout Int, bound: inout Set<String>,
        source: String
    ) throws -> ChatTemplateNode {
        var branches: [(condition: ChatTemplateExpression, body: [ChatTemplateNode])] = []
        var current = try ExpressionParser.parse(condition, bound: bound, source: source)
        while true {
            let (body, end) = try parseBlock(pieces, &index, bound: &bound, source: source)
            branches.append((current, body))
            guard let end else {
                throw ChatTemplateError.syntax("'{% if %}' is never closed with '{% endif %}'", source: source)
            }
            if end == "endif" { return .branches(branches, otherwise: []) }
            if end == "else" {
                let (otherwise, last) = try parseBlock(pieces, &index, bound: &bound, source: source)
                guard last == "endif" else {
                    throw ChatTemplateError.syntax("'{% else %}' not followed by '{% endif %}'", source: source)
                }
                return .branches(branches, otherwise: otherwise)
            }
            guard end.hasPrefix("elif ") else {
                throw ChatTemplateError.syntax("'{% if %}' ended by '{% \(end) %}'", source: source)
            }
            current = try ExpressionParser.parse(String(end.dropFirst(5)), bound: bound, source: source)
        }
    }
}

extension Substring {
    /// The first occurrence of any of `needles`.
    fileprivate func firstRange(where needles: [String]) -> Range<Substring.Index>? {
        needles.compactMap { range(of: $0) }.min { $0.lowerBound < $1.lowerBound }
    }
}
