// The example's sample data (examples/data): Debian package descriptions and query texts with
// their precomputed all-MiniLM-L6-v2 embeddings. No embedding model runs here, so only the query
// texts in queries.jsonl can be searched.
import Foundation

struct SamplePackage: Sendable {
    let package: String
    let section: String
    let text: String
    let embedding: [Float]
}

struct SampleQuery: Sendable {
    let text: String
    let targetPackage: String
    let embedding: [Float]
}

struct SampleData: Sendable {
    let packages: [SamplePackage]
    let queries: [SampleQuery]

    enum LoadError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case malformed(path: String, line: Int, reason: String)

        var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
            case .malformed(let path, let line, let reason): "\(path) line \(line): \(reason)"
            }
        }
    }

    /// Reads packages.jsonl and queries.jsonl from `directory`.
    static func load(from directory: URL) throws(LoadError) -> SampleData {
        var packages: [SamplePackage] = []
        let packagesPath = directory.appendingPathComponent("packages.jsonl")
        for (record, line) in try records(packagesPath) {
            let path = packagesPath.path
            packages.append(SamplePackage(
                package: try field(record, "package", line, path), section: try field(record, "section", line, path),
                text: try field(record, "text", line, path), embedding: try vector(record, line, path)))
        }
        var queries: [SampleQuery] = []
        let queriesPath = directory.appendingPathComponent("queries.jsonl")
        for (record, line) in try records(queriesPath) {
            let path = queriesPath.path
            queries.append(SampleQuery(
                text: try field(record, "text", line, path), targetPackage: try field(record, "target_package", line, path),
                embedding: try vector(record, line, path)))
        }
        return SampleData(packages: packages, queries: queries)
    }

    /// Each line's JSON object with its line number.
    private static func records(_ url: URL) throws(LoadError) -> [([String: Any], Int)] {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw .unreadable(path: url.path, reason: "\(error)")
        }
        var records: [([String: Any], Int)] = []
        for (index, line) in text.split(separator: "\n").enumerated() {
            let parsed: Any
            do {
                parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
            } catch {
                throw .malformed(path: url.path, line: index + 1, reason: "not JSON")
            }
            guard let object = parsed as? [String: Any] else {
                throw .malformed(path: url.path, line: index + 1, reason: "not a JSON object")
            }
            records.append((object, index + 1))
        }
        return records
    }

    private static func field(_ record: [String: Any], _ name: String, _ line: Int, _ path: String) throws(LoadError) -> String {
        guard let value = record[name] as? String else {
            throw .malformed(path: path, line: line, reason: "no string field \(name)")
        }
        return value
    }

    /// The "embedding" field: base64 of little-endian float32 values.
    private static func vector(_ record: [String: Any], _ line: Int, _ path: String) throws(LoadError) -> [Float] {
        guard let encoded = record["embedding"] as? String, let data = Data(base64Encoded: encoded),
              data.count % MemoryLayout<Float>.size == 0 else {
            throw .malformed(path: path, line: line, reason: "embedding is not base64 float32")
        }
        return stride(from: 0, to: data.count, by: 4).map { offset in
            let bits = UInt32(data[data.startIndex + offset]) | UInt32(data[data.startIndex + offset + 1]) << 8
                | UInt32(data[data.startIndex + offset + 2]) << 16 | UInt32(data[data.startIndex + offset + 3]) << 24
            return Float(bitPattern: bits)
        }
    }
}
