// The memories schema (versions 400-499). Every statement is idempotent so a migration that ran
// halfway, or a schema created by hand, can be applied again.

enum MemoryMigrations {
    static let all: [Migration] = [tables, filterFunctions]

    /// Items, vectors, collections, the change sequence and vector tombstones.
    ///
    /// `change_seq` comes from one sequence and is assigned on every write of an item or vector;
    /// deleted vectors leave a tombstone with its own `change_seq` (recorded by a statement
    /// trigger, so cascades from item deletes are covered too). A snapshot of the in-process
    /// index stores the sequence value it reflects; loading it replays vectors and tombstones
    /// above that value. `memory_state.tombstone_horizon` is the highest pruned tombstone: a
    /// snapshot older than it cannot be caught up and is rebuilt instead.
    static let tables = Migration(version: 401, name: "memories: items, vectors, collections", sql: """
        CREATE SEQUENCE IF NOT EXISTS memory_change_seq;

        CREATE TABLE IF NOT EXISTS memory_state (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            database_id uuid NOT NULL DEFAULT gen_random_uuid(),
            tombstone_horizon bigint NOT NULL DEFAULT 0,
            index_owner text NOT NULL DEFAULT ''
        );
        INSERT INTO memory_state DEFAULT VALUES ON CONFLICT DO NOTHING;

        CREATE TABLE IF NOT EXISTS memory_collections (
            name text PRIMARY KEY,
            dimension integer NOT NULL CHECK (dimension BETWEEN 1 AND 4096),
            metric smallint NOT NULL CHECK (metric IN (1, 2, 3)),
            created_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE IF NOT EXISTS memory_items (
            id bigserial PRIMARY KEY,
            namespace text[] COLLATE "C" NOT NULL,
            -- The labels joined by '.' plus a trailing '.' (labels never contain '.'), so a
            -- label-boundary prefix is a plain string prefix and a btree range.
            namespace_path text COLLATE "C" NOT NULL,
            key text NOT NULL,
            value jsonb NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            expires_at timestamptz,
            ttl_ms bigint CHECK (ttl_ms > 0),
            change_seq bigint NOT NULL DEFAULT nextval('memory_change_seq'),
            UNIQUE (namespace_path, key)
        );
        CREATE INDEX IF NOT EXISTS memory_items_by_recency ON memory_items (namespace_path, updated_at DESC);
        CREATE INDEX IF NOT EXISTS memory_items_by_expiry ON memory_items (expires_at) WHERE expires_at IS NOT NULL;

        CREATE TABLE IF NOT EXISTS memory_vectors (
            id bigserial PRIMARY KEY,
            item_id bigint NOT NULL REFERENCES memory_items (id) ON DELETE CASCADE,
            collection text NOT NULL REFERENCES memory_collections (name),
            field text NOT NULL,
            dimension integer NOT NULL,
            -- float32 little-endian, dimension * 4 bytes.
            embedding bytea NOT NULL CHECK (length(embedding) = 4 * dimension),
            change_seq bigint NOT NULL DEFAULT nextval('memory_change_seq'),
            UNIQUE (item_id, field)
        );
        CREATE INDEX IF NOT EXISTS memory_vectors_by_change ON memory_vectors (collection, change_seq);

        CREATE TABLE IF NOT EXISTS memory_vector_tombstones (
            vector_id bigint PRIMARY KEY,
            collection text NOT NULL,
            change_seq bigint NOT NULL DEFAULT nextval('memory_change_seq'),
            deleted_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX IF NOT EXISTS memory_vector_tombstones_by_change
            ON memory_vector_tombstones (collection, change_seq);

        CREATE OR REPLACE FUNCTION memory_record_vector_tombstones() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO memory_vector_tombstones (vector_id, collection)
                SELECT id, collection FROM gone
                ON CONFLICT (vector_id) DO NOTHING;
            RETURN NULL;
        END $$;
        DROP TRIGGER IF EXISTS memory_vectors_tombstones ON memory_vectors;
        CREATE TRIGGER memory_vectors_tombstones AFTER DELETE ON memory_vectors
            REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
            EXECUTE FUNCTION memory_record_vector_tombstones();
        """)

    /// The search filter, evaluated in SQL so that only matching rows leave PostgreSQL.
    /// Semantics follow LangGraph's in-memory store: each filter key names a field of the value;
    /// a scalar or array is compared for JSON equality (numbers numerically, missing = null); a
    /// nested object without `$` keys matches recursively and requires an object; an object with
    /// `$` keys applies each operator. `$gt $gte $lt $lte` compare numbers with numbers and strings
    /// with strings (byte order); any other pairing does not match.
    static let filterFunctions = Migration(version: 402, name: "memories: filter functions", sql: """
        CREATE OR REPLACE FUNCTION memory_filter_operator(item jsonb, operator text, operand jsonb)
        RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            kinds text := jsonb_typeof(item) || '/' || jsonb_typeof(operand);
        BEGIN
            IF operator = '$eq' THEN RETURN item = operand; END IF;
            IF operator = '$ne' THEN RETURN item <> operand; END IF;
            IF kinds = 'number/number' THEN
                RETURN CASE operator
                    WHEN '$gt' THEN (item #>> '{}')::numeric > (operand #>> '{}')::numeric
                    WHEN '$gte' THEN (item #>> '{}')::numeric >= (operand #>> '{}')::numeric
                    WHEN '$lt' THEN (item #>> '{}')::numeric < (operand #>> '{}')::numeric
                    WHEN '$lte' THEN (item #>> '{}')::numeric <= (operand #>> '{}')::numeric
                    ELSE false END;
            END IF;
            IF kinds = 'string/string' THEN
                RETURN CASE operator
                    WHEN '$gt' THEN (item #>> '{}') COLLATE "C" > (operand #>> '{}')
                    WHEN '$gte' THEN (item #>> '{}') COLLATE "C" >= (operand #>> '{}')
                    WHEN '$lt' THEN (item #>> '{}') COLLATE "C" < (operand #>> '{}')
                    WHEN '$lte' THEN (item #>> '{}') COLLATE "C" <= (operand #>> '{}')
                    ELSE false END;
            END IF;
            RETURN false;
        END $$;

        CREATE OR REPLACE FUNCTION memory_filter_value(item jsonb, wanted jsonb)
        RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            operator text;
            operand jsonb;
        BEGIN
            item := COALESCE(item, 'null'::jsonb);
            IF jsonb_typeof(wanted) <> 'object' THEN
                RETURN item = wanted;
            END IF;
            IF EXISTS (SELECT 1 FROM jsonb_object_keys(wanted) AS k WHERE left(k, 1) = '$') THEN
                FOR operator, operand IN SELECT * FROM jsonb_each(wanted) LOOP
                    IF NOT memory_filter_operator(item, operator, operand) THEN RETURN false; END IF;
                END LOOP;
                RETURN true;
            END IF;
            IF jsonb_typeof(item) <> 'object' THEN RETURN false; END IF;
            RETURN memory_filter_match(item, wanted);
        END $$;

        CREATE OR REPLACE FUNCTION memory_filter_match(item jsonb, filter jsonb)
        RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            field text;
            wanted jsonb;
        BEGIN
            FOR field, wanted IN SELECT * FROM jsonb_each(filter) LOOP
                IF NOT memory_filter_value(item -> field, wanted) THEN RETURN false; END IF;
            END LOOP;
            RETURN true;
        END $$;
        """)
}
