/// Aligned text tables and optional colour for the human-readable outputs.
public struct TextTable: Sendable {
    public enum Alignment: Sendable { case left, right }
    public struct Column: Sendable {
        public var title: String
        public var alignment: Alignment
        public init(_ title: String, _ alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
    }

    public var columns: [Column]
    public private(set) var rows: [[String]] = []

    public init(_ columns: [Column]) { self.columns = columns }

    public mutating func add(_ row: [String]) {
        rows.append(row + [String](repeating: "", count: max(0, columns.count - row.count)))
    }

    /// Renders with two spaces between columns; `style` colours cells after alignment.
    public func render(indent: String = "", colour: ((Int, Int, String) -> String)? = nil) -> String {
        var widths = columns.map { $0.title.count }
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String], rowIndex: Int) -> String {
            var parts: [String] = []
            for (i, col) in columns.enumerated() {
                let cell = i < cells.count ? cells[i] : ""
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                var text = col.alignment == .left ? cell + pad : pad + cell
                if let colour, rowIndex >= 0 { text = colour(rowIndex, i, text) }
                parts.append(text)
            }
            var s = indent + parts.joined(separator: "  ")
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        var out = [line(columns.map(\.title), rowIndex: -1)]
        for (r, row) in rows.enumerated() { out.append(line(row, rowIndex: r)) }
        return out.joined(separator: "\n")
    }
}

/// ANSI colours, used only when the output is a terminal and NO_COLOR is unset (the CLI decides).
public struct Style: Sendable {
    public let enabled: Bool
    public init(enabled: Bool) { self.enabled = enabled }

    public func bold(_ s: String) -> String { wrap(s, "1") }
    public func red(_ s: String) -> String { wrap(s, "31") }
    public func green(_ s: String) -> String { wrap(s, "32") }
    public func yellow(_ s: String) -> String { wrap(s, "33") }
    public func dim(_ s: String) -> String { wrap(s, "2") }

    private func wrap(_ s: String, _ code: String) -> String {
        enabled && !s.isEmpty ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
    }
}

extension Double {
    /// "0.123" style milliseconds for tables.
    public func formattedMilliseconds() -> String {
        if self >= 100 { return String(Int(self.rounded())) }
        let scaled = (self * 1000).rounded() / 1000
        var s = String(scaled)
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < 3 { s += String(repeating: "0", count: 3 - decimals) }
            if decimals > 3 { s = String(s[..<s.index(dot, offsetBy: 4)]) }
        }
        return s
    }
}

extension String {
    /// The text without what a terminal would act on: C0 and C1 control characters (ESC starts
    /// colour, cursor and title sequences), DEL, and the bidirectional overrides that make text
    /// read differently from what it is. For strings that come from files (`pathprobe diff`).
    public var terminalSafe: String {
        let unsafe: (Unicode.Scalar) -> Bool = { c in
            c.value < 0x20 || (c.value >= 0x7f && c.value < 0xa0) || (0x200e...0x200f).contains(c.value)
                || (0x202a...0x202e).contains(c.value) || (0x2066...0x2069).contains(c.value)
        }
        guard unicodeScalars.contains(where: unsafe) else { return self }
        var out = String.UnicodeScalarView()
        for c in unicodeScalars where !unsafe(c) { out.append(c) }
        return String(out)
    }
}
