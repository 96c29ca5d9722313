// Small JSON helpers for the checkpoint domain: building JSON text for parameters (lists of ids,
// channel version maps) and cleaning the metadata documents clients send.
import Foundation

enum CheckpointJSON {
    /// A JSON string literal for `value`, escaping quotes, backslashes and control characters.
    static func quoted(_ value: String) -> String {
        var result = "\""
        result.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    static func array(_ values: [String]) -> String {
        "[" + values.map(quoted).joined(separator: ",") + "]"
    }

    /// A JSON object from ordered pairs; a later duplicate key wins when PostgreSQL parses it.
    static func object(_ pairs: [(key: String, value: String)]) -> String {
        "{" + pairs.map { quoted($0.key) + ":" + quoted($0.value) }.joined(separator: ",") + "}"
    }

    /// Whether `text` parses as a JSON object.
    static func isObject(_ text: String) -> Bool {
        do {
            return try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) is [String: Any]
        } catch {
            // Not JSON at all: the caller reports invalid_argument.
            return false
        }
    }

    /// Removes `\u0000` escapes from JSON text: jsonb cannot hold NUL characters, and LangGraph's
    /// own PostgreSQL saver drops them the same way. Escapes are walked pair by pair, so an
    /// escaped backslash followed by "u0000" is left alone.
    static func removingNullEscapes(_ text: String) -> String {
        guard text.contains("\\u0000") else { return text }
        let bytes = Array(text.utf8)
        let pattern = Array("u0000".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                if index + 6 <= bytes.count, Array(bytes[(index + 1)..<(index + 6)]) == pattern {
                    index += 6
                    continue
                }
                output.append(byte)
                output.append(bytes[index + 1])
                index += 2
                continue
            }
            output.append(byte)
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}
