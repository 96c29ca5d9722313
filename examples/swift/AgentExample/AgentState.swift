// The team's state, saved as the body of each checkpoint (JSON), so a later process can continue
// the thread from its newest checkpoint.
import Foundation

struct Finding: Codable, Sendable, Equatable {
    let package: String
    let score: Double
    let summary: String
}

struct AgentState: Codable, Sendable {
    var task: String
    var conversationID: String
    /// Index into `AgentTeam.steps` of the next agent to run; `steps.count` when finished.
    var nextStep = 0
    var findings: [Finding] = []
    var draft: String?
    var approved = false

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        do {
            return Array(try encoder.encode(self))
        } catch {
            // Only strings, numbers and arrays of them: encoding cannot fail.
            preconditionFailure("AgentState does not encode: \(error)")
        }
    }

    static func decoded(_ bytes: [UInt8]) throws -> AgentState {
        try JSONDecoder().decode(AgentState.self, from: Data(bytes))
    }
}
