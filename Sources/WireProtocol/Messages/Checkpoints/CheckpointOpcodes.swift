// Opcodes of the checkpoint domain (0x0101-0x0108), the layout fixed in protocol-spec.md §7.1.

extension Opcode {
    public static let checkpointPut = Opcode(rawValue: 0x0101)
    public static let checkpointPutWrites = Opcode(rawValue: 0x0102)
    public static let checkpointGet = Opcode(rawValue: 0x0103)
    /// Streamed: partial responses carry pages of records.
    public static let checkpointList = Opcode(rawValue: 0x0104)
    public static let checkpointDeleteThread = Opcode(rawValue: 0x0105)
    public static let checkpointDeleteForRuns = Opcode(rawValue: 0x0106)
    public static let checkpointCopyThread = Opcode(rawValue: 0x0107)
    public static let checkpointPrune = Opcode(rawValue: 0x0108)

    /// Every checkpoint opcode, for registration checks and logs.
    public static let checkpointOpcodes: [Opcode] = [
        .checkpointPut, .checkpointPutWrites, .checkpointGet, .checkpointList,
        .checkpointDeleteThread, .checkpointDeleteForRuns, .checkpointCopyThread, .checkpointPrune,
    ]
}
