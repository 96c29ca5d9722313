// Opcodes of the cache domain (protocol-spec.md section 7.3).

extension Opcode {
    public static let cacheGet = Opcode(rawValue: 0x0301)
    public static let cacheSet = Opcode(rawValue: 0x0302)
    public static let cacheDelete = Opcode(rawValue: 0x0303)
    public static let cacheClear = Opcode(rawValue: 0x0304)
}
