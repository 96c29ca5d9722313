// Converts wire values to JSON text for PostgreSQL jsonb columns and back. The mapping keeps ints
// and floats apart across the round trip: jsonb stores numbers as `numeric`, which keeps the
// digits after the decimal point as written, so floats are always written with a fractional part
// and numbers read back with a '.' or exponent are floats, the rest ints.
import Foundation
import WireProtocol

enum ConversationJSON {
    struct Unrepresentable: Error {
        let reason: String
    }

    /// JSON text for `value`. Throws for what JSON (or jsonb) cannot hold: bytes, non-finite
    /// floats, and U+0000 in strings (jsonb refuses `\u0000`).
    static func encode(_ value: Value) throws(Unrepresentable) -> String {
        var output = ""
        try append(value, to: &output)
        return output
    }

    static func encode(_ map: ValueMap) throws(Unrepresentable) -> String {
        try encode(.map(map))
    }

    private static func append(_ value: Value, to output: inout String) throws(Unrepresentable) {
        switch value {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .int(let number): output += String(number)
        case .float(let number):
            guard number.isFinite else { throw Unrepresentable(reason: "non-finite float \(number)") }
            if number == number.rounded(), abs(number) < 1e300 {
                // Integral floats keep a ".0" so they come back as floats.
                output += String(format: "%.1f", number)
            } else {
                output += "\(number)"
            }
        case .string(let text): try appendString(text, to: &output)
        case .bytes: throw Unrepresentable(reason: "bytes have no JSON form")
        case .list(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                try append(element, to: &output)
            }
            output += "]"
        case .map(let map):
            output += "{"
            for (index, entry) in map.entries.enumerated() {
                if index > 0 { output += "," }
                try appendString(entry.key, to: &output)
                output += ":"
                try append(entry.value, to: &output)
            }
            output += "}"
        }
    }

    private static func appendString(_ text: String, to output: inout String) throws(Unrepresentable) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\0": throw Unrepresentable(reason: "U+0000 in a string")
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if scalar.value < 0x20 {
                    output += String(format: "\\u%04x", scalar.value)
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }

    /// Parses JSON text as PostgreSQL returns it. Throws `Unrepresentable` for malformed text
    /// (which would be a bug: PostgreSQL only stores valid JSON).
    static func decode(_ text: String) throws(Unrepresentable) -> Value {
        var parser = Parser(bytes: Array(text.utf8))
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else { throw Unrepresentable(reason: "trailing bytes in JSON") }
        return value
    }

    static func decodeMap(_ text: String) throws(Unrepresentable) -> ValueMap {
        guard case .map(let map) = try decode(text) else { throw Unrepresentable(reason: "JSON is not an object") }
        return map
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
        }

        mutating func value(depth: Int) throws(Unrepresentable) -> Value {
            guard depth <= Value.nestingDepthMax else { throw Unrepresentable(reason: "JSON nests too deep") }
            skipWhitespace()
            guard position < bytes.count else { throw Unrepresentable(reason: "JSON ends early") }
            switch bytes[position] {
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                position += 1
                var elements: [Value] = []
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .list([]) }
                while true {
                    elements.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard position < bytes.count else { throw Unrepresentable(reason: "JSON list ends early") }
                    position += 1
                    if bytes[position - 1] == UInt8(ascii: "]") { return .list(elements) }
                    guard bytes[position - 1] == UInt8(ascii: ",") else { throw Unrepresentable(reason: "expected , or ]") }
                }
            case UInt8(ascii: "{"):
                position += 1
                var map = ValueMap()
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .map(map) }
                while true {
                    skipWhitespace()
                    let key = try string()
                    skipWhitespace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                        throw Unrepresentable(reason: "expected :")
                    }
                    position += 1
                    map[key] = try value(depth: depth + 1)
                    skipWhitespace()
                    guard position < bytes.count else { throw Unrepresentable(reason: "JSON object ends early") }
                    position += 1
                    if bytes[position - 1] == UInt8(ascii: "}") { return .map(map) }
                    guard bytes[position - 1] == UInt8(ascii: ",") else { throw Unrepresentable(reason: "expected , or }") }
                }
            default: return try number()
            }
        }

        private mutating func literal(_ word: String) throws(Unrepresentable) {
            let expected = Array(word.utf8)
            guard bytes.count - position >= expected.count,
                  Array(bytes[position..<position + expected.count]) == expected else {
                throw Unrepresentable(reason: "bad JSON literal")
            }
            position += expected.count
        }

        private mutating func number() throws(Unrepresentable) -> Value {
            let start = position
            var isFloat = false
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                    isFloat = true
                } else if !(byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) && byte != UInt8(ascii: "-")
                            && byte != UInt8(ascii: "+") {
                    break
                }
                position += 1
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if !isFloat, let integer = Int64(text) { return .int(integer) }
            guard let double = Double(text) else { throw Unrepresentable(reason: "bad JSON number \(text)") }
            return .float(double)
        }

        private mutating func string() throws(Unrepresentable) -> String {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw Unrepresentable(reason: "expected a string")
            }
            position += 1
            var scalars = String.UnicodeScalarView()
            var run: [UInt8] = []
            func flush() {
                if !run.isEmpty {
                    scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                    run.removeAll(keepingCapacity: true)
                }
            }
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                if byte == UInt8(ascii: "\"") {
                    flush()
                    return String(scalars)
                }
                guard byte == UInt8(ascii: "\\") else { run.append(byte); continue }
                flush()
                guard position < bytes.count else { break }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), bytes.count - position >= 6,
                       bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                        position += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: scalars.append(Unicode.Scalar(escape))
                }
            }
            throw Unrepresentable(reason: "unterminated JSON string")
        }

        private mutating func hex4() throws(Unrepresentable) -> UInt32 {
            guard bytes.count - position >= 4,
                  let code = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16) else {
                throw Unrepresentable(reason: "bad \\u escape")
            }
            position += 4
            return code
        }
    }
}
