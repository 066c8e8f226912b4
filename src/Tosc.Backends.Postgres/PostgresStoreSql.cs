namespace Tosc;

/// <summary>
/// The statements behind every call, built once per table pair. Each call is one statement (an implicit transaction):
/// a commit's version check, its row writes and its <c>pg_notify</c> land together or not at all. See docs/postgres-backend.md.
/// </summary>
/// <remarks>
/// Every change to a store first updates (so locks) its row in the state table; under READ COMMITTED a second writer
/// waits for that lock and then re-checks its <c>WHERE version = $n</c> against the committed row, so exactly one of
/// two racing commits lands. Log rows at or below the row's <c>snapshot_version</c> are dead (a compaction or a
/// whole-state write covered them): reads skip them and the next compaction or whole-state write deletes them.
/// </remarks>
internal sealed class PostgresStoreSql
{
    // A new version: the transaction's clock in microseconds, or the previous version + 1 when that is larger. Versions
    // only grow while the row exists and do not repeat after it was deleted (unless the server clock went backwards).
    // now() is fixed for the transaction, so the expression yields the same value everywhere in one statement.
    private const string Clock = "(extract(epoch FROM now()) * 1000000)::bigint";
    private const string NextVersion = "greatest(s.version + 1, " + Clock + ")";

    public PostgresStoreSql(string? schema, string prefix)
    {
        var qualifier = schema is null ? "" : Quote(schema) + ".";
        StateTable = qualifier + Quote(prefix + "state");
        LogTable = qualifier + Quote(prefix + "log");
        Channel = (schema is null ? "" : schema + ".") + prefix + "changes";
        var state = StateTable;
        var log = LogTable;

        CreateTables = $"""
            SELECT pg_advisory_xact_lock(hashtext('tosc create ' || '{state}'));
            CREATE TABLE IF NOT EXISTS {state} (
              key text PRIMARY KEY,
              version bigint NOT NULL,
              commit_id uuid NOT NULL,
              snapshot bytea NOT NULL,
              snapshot_version bigint NOT NULL,
              snapshot_commit_id uuid NOT NULL,
              log_records integer NOT NULL,
              log_bytes bigint NOT NULL
            );
            CREATE TABLE IF NOT EXISTS {log} (
              key text NOT NULL,
              version bigint NOT NULL,
              commit_id uuid NOT NULL,
              record bytea NOT NULL,
              PRIMARY KEY (key, version)
            );
            """;

        ReadVersion = $"SELECT version FROM {state} WHERE key = $1";

        // $1 key, $2 the version the caller has (NULL: none). One header row (does the log hold $2, and the snapshot when
        // it does not), then the live records after $2 or after the snapshot; no row at all for an empty store.
        ReadLog = $"""
            WITH s AS (
              SELECT s.snapshot_version, s.snapshot_commit_id, s.snapshot,
                     ($2::bigint IS NOT NULL AND ($2 = s.snapshot_version OR EXISTS (
                       SELECT 1 FROM {log} l WHERE l.key = $1 AND l.version = $2 AND l.version > s.snapshot_version))) AS continues
              FROM {state} s WHERE s.key = $1
            )
            SELECT 0 AS part, s.continues, s.snapshot_version AS version, s.snapshot_commit_id AS commit_id,
                   CASE WHEN s.continues THEN NULL ELSE s.snapshot END AS data
            FROM s
            UNION ALL
            SELECT 1, NULL, l.version, l.commit_id, l.record
            FROM {log} l, s
            WHERE l.key = $1 AND l.version > s.snapshot_version AND (NOT s.continues OR l.version > $2)
            ORDER BY part, version
            """;

        // Whole-state writes: $1 key, $2 data, $3 commit id, $4 channel (, $5 expected version). The new value is the
        // snapshot, the log is emptied (the DELETE sees the rows committed before the statement; any later one is dead).
        const string Columns = "key, version, commit_id, snapshot, snapshot_version, snapshot_commit_id, log_records, log_bytes";
        const string Replace = $"version = {NextVersion}, commit_id = $3, snapshot = $2, snapshot_version = {NextVersion}, snapshot_commit_id = $3, log_records = 0, log_bytes = 0";
        var written = $"""
            , trimmed AS (DELETE FROM {log} l USING written w WHERE l.key = $1 AND l.version < w.version)
            SELECT w.version, pg_notify($4, $1 || ':' || w.version) FROM written w
            """;
        WriteAny = $"""
            WITH written AS (
              INSERT INTO {state} AS s ({Columns}) VALUES ($1, {Clock}, $3, $2, {Clock}, $3, 0, 0)
              ON CONFLICT (key) DO UPDATE SET {Replace}
              RETURNING s.version)
            {written}
            """;
        // Two creators: the second INSERT waits for the first one's row and then does nothing.
        WriteIfEmpty = $"""
            WITH written AS (
              INSERT INTO {state} AS s ({Columns}) VALUES ($1, {Clock}, $3, $2, {Clock}, $3, 0, 0)
              ON CONFLICT (key) DO NOTHING
              RETURNING s.version)
            {written}
            """;
        WriteIfVersion = $"""
            WITH written AS (
              UPDATE {state} AS s SET {Replace}
              WHERE s.key = $1 AND s.version = $5
              RETURNING s.version)
            {written}
            """;

        // $1 key, $2 record, $3 commit id, $4 channel, $5 expected version.
        Append = $"""
            WITH moved AS (
              UPDATE {state} AS s SET version = {NextVersion}, commit_id = $3,
                log_records = s.log_records + 1, log_bytes = s.log_bytes + octet_length($2)
              WHERE s.key = $1 AND s.version = $5
              RETURNING s.version, s.log_records, s.log_bytes),
            logged AS (INSERT INTO {log} (key, version, commit_id, record) SELECT $1, m.version, $3, $2 FROM moved m)
            SELECT m.version, m.log_records, m.log_bytes, pg_notify($4, $1 || ':' || m.version) FROM moved m
            """;

        // $1 key, $2 snapshot, $3 version. The record at $3 must be live; the counters drop by the live records up to
        // it, counted against the row's snapshot_version as re-read after waiting for a concurrent change's lock.
        Compact = $"""
            WITH target AS (SELECT l.version, l.commit_id FROM {log} l WHERE l.key = $1 AND l.version = $3),
            compacted AS (
              UPDATE {state} AS s SET snapshot = $2, snapshot_version = t.version, snapshot_commit_id = t.commit_id,
                log_records = s.log_records - (SELECT count(*) FROM {log} l WHERE l.key = $1 AND l.version > s.snapshot_version AND l.version <= $3),
                log_bytes = s.log_bytes - (SELECT coalesce(sum(octet_length(l.record)), 0) FROM {log} l WHERE l.key = $1 AND l.version > s.snapshot_version AND l.version <= $3)
              FROM target t
              WHERE s.key = $1 AND s.snapshot_version < t.version AND s.version >= t.version
              RETURNING s.key),
            trimmed AS (DELETE FROM {log} l USING compacted c WHERE l.key = $1 AND l.version <= $3)
            SELECT count(*) FROM compacted
            """;
    }

    /// <summary>The quoted (and schema-qualified) state table.</summary>
    public string StateTable { get; }

    /// <summary>The quoted (and schema-qualified) log table.</summary>
    public string LogTable { get; }

    /// <summary>The notification channel, unquoted (as <c>pg_notify</c> takes it).</summary>
    public string Channel { get; }

    public string CreateTables { get; }

    public string ReadVersion { get; }

    public string ReadLog { get; }

    public string WriteAny { get; }

    public string WriteIfEmpty { get; }

    public string WriteIfVersion { get; }

    public string Append { get; }

    public string Compact { get; }

    /// <summary>LISTEN for <see cref="Channel"/>.</summary>
    public string Listen => "LISTEN " + Quote(Channel);

    // Names are validated to [a-z0-9_.] (PostgresBackendOptions), so quoting never needs escaping.
    private static string Quote(string name) => "\"" + name + "\"";
}
