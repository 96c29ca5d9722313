// Opcodes of the memories domain (LangGraph store semantics), range 0x04xx; see spec §7.4.

extension Opcode {
    public static let memoryCollectionEnsure = Opcode(rawValue: 0x0401)
    public static let memoryPut = Opcode(rawValue: 0x0402)
    public static let memoryGet = Opcode(rawValue: 0x0403)
    public static let memoryDelete = Opcode(rawValue: 0x0404)
    public static let memorySearch = Opcode(rawValue: 0x0405)
    public static let memoryListNamespaces = Opcode(rawValue: 0x0406)
    public static let memoryBatch = Opcode(rawValue: 0x0407)

    /// The operations a MEMORY_BATCH may contain (everything but ensure and batch itself).
    public static let memoryBatchable: Set<Opcode> = [.memoryPut, .memoryGet, .memoryDelete, .memorySearch,
                                                       .memoryListNamespaces]
}
