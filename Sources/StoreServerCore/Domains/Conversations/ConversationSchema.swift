// The conversations domain's tables. Idempotent DDL: a migration that ran halfway (or on a
// database someone prepared by hand) can run again.

enum ConversationSchema {
    static let migrations = [
        Migration(version: 200, name: "conversations and agent executions", sql: """
            CREATE TABLE IF NOT EXISTS conversations (
                id uuid PRIMARY KEY,
                title varchar(255) NOT NULL DEFAULT 'New Conversation',
                user_id text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                -- Not on the wire: moved by execution writes too, so the cache refresh can pick
                -- the conversations that are in use without touching updated_at.
                last_active_at timestamptz NOT NULL,
                metadata jsonb NOT NULL DEFAULT '{}'::jsonb
            );
            CREATE INDEX IF NOT EXISTS conversations_user_created
                ON conversations (user_id, created_at DESC, id DESC);
            CREATE INDEX IF NOT EXISTS conversations_created ON conversations (created_at DESC, id DESC);
            CREATE INDEX IF NOT EXISTS conversations_last_active ON conversations (last_active_at DESC);
            CREATE TABLE IF NOT EXISTS agent_executions (
                id uuid PRIMARY KEY,
                conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
                agent_name text NOT NULL,
                agent_type text NOT NULL,
                input jsonb NOT NULL,
                output jsonb,
                status text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
                error_message text,
                created_at timestamptz NOT NULL,
                started_at timestamptz,
                completed_at timestamptz,
                duration_ms bigint,
                tokens_used bigint NOT NULL DEFAULT 0 CHECK (tokens_used >= 0),
                metadata jsonb NOT NULL DEFAULT '{}'::jsonb
            );
            CREATE INDEX IF NOT EXISTS agent_executions_conversation
                ON agent_executions (conversation_id, created_at, id);
            CREATE INDEX IF NOT EXISTS agent_executions_created ON agent_executions (created_at);
            """),
    ]
}
