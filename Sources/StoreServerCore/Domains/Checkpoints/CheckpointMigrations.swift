// The checkpoint tables (migration versions 100-199). Identifiers use the "C" collation so that
// ordering and `before` compare bytes, like Python's string comparison of LangGraph's ids.

enum CheckpointMigrations {
    static let all: [Migration] = [
        Migration(version: 100, name: "checkpoints", sql: """
            CREATE TABLE IF NOT EXISTS checkpoints (
                thread_id text COLLATE "C" NOT NULL,
                checkpoint_ns text COLLATE "C" NOT NULL DEFAULT '',
                checkpoint_id text COLLATE "C" NOT NULL,
                parent_checkpoint_id text COLLATE "C",
                checkpoint_type text NOT NULL,
                checkpoint bytea NOT NULL,
                metadata jsonb NOT NULL DEFAULT '{}',
                channel_versions jsonb NOT NULL DEFAULT '{}',
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
            );
            CREATE INDEX IF NOT EXISTS checkpoints_checkpoint_id_idx ON checkpoints (checkpoint_id);
            CREATE INDEX IF NOT EXISTS checkpoints_run_id_idx ON checkpoints ((metadata ->> 'run_id'));
            CREATE INDEX IF NOT EXISTS checkpoints_metadata_idx ON checkpoints USING gin (metadata jsonb_path_ops);

            CREATE TABLE IF NOT EXISTS checkpoint_blobs (
                thread_id text COLLATE "C" NOT NULL,
                checkpoint_ns text COLLATE "C" NOT NULL DEFAULT '',
                channel text COLLATE "C" NOT NULL,
                version text COLLATE "C" NOT NULL,
                type text NOT NULL,
                blob bytea NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
            );

            CREATE TABLE IF NOT EXISTS checkpoint_writes (
                thread_id text COLLATE "C" NOT NULL,
                checkpoint_ns text COLLATE "C" NOT NULL DEFAULT '',
                checkpoint_id text COLLATE "C" NOT NULL,
                task_id text COLLATE "C" NOT NULL,
                task_path text COLLATE "C" NOT NULL DEFAULT '',
                idx integer NOT NULL,
                channel text NOT NULL,
                type text NOT NULL,
                blob bytea NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
            );
            """),
    ]
}
