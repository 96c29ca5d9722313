// Limits of the conversations domain, each with its reason.

public enum ConversationLimits {
    /// Characters (Unicode scalars) in a title: the product's data model (`varchar(255)`).
    public static let titleCharactersMax = 255
    /// Title of a conversation created without one.
    public static let defaultTitle = "New Conversation"
    /// Bytes in a user id, agent name or agent type: identifiers, not text; keeps index entries small.
    public static let identifierBytesMax = 255
    /// Bytes in an execution's error message: enough for a stack trace, not for a log file.
    public static let errorMessageBytesMax = 64 << 10
    /// Page size of CONVERSATION_LIST when the request says 0.
    public static let listPageDefault = 50
    /// Largest page of CONVERSATION_LIST, and the page size of the streamed EXECUTION_LIST
    /// (the spec's bound on items per streamed page).
    public static let listPageMax = 256
    /// Agents in one totals answer: bounds the response of a store with unbounded agent names.
    public static let totalsAgentsMax = 10_000
    /// Conversations the background refresh keeps warm: the most recently active ones. Bounds
    /// the work of one refresh to one query and this many cache writes.
    public static let hotConversationsMax = 200
}
