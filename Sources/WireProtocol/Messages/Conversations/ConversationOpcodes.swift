// Opcodes of the conversations domain (protocol-spec.md section 7.2).

extension Opcode {
    public static let conversationCreate = Opcode(rawValue: 0x0201)
    public static let conversationGet = Opcode(rawValue: 0x0202)
    public static let conversationUpdate = Opcode(rawValue: 0x0203)
    public static let conversationDelete = Opcode(rawValue: 0x0204)
    public static let conversationList = Opcode(rawValue: 0x0205)

    public static let executionCreate = Opcode(rawValue: 0x0211)
    public static let executionStart = Opcode(rawValue: 0x0212)
    public static let executionComplete = Opcode(rawValue: 0x0213)
    public static let executionFail = Opcode(rawValue: 0x0214)
    public static let executionGet = Opcode(rawValue: 0x0215)
    public static let executionList = Opcode(rawValue: 0x0216)
    public static let executionTotals = Opcode(rawValue: 0x0217)
}
