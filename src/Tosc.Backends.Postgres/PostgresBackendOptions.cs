using System.Globalization;
using System.Text;

namespace Tosc;

/// <summary>
/// Settings of a <see cref="PostgresBackend"/>. The server, the database, the user, the password and TLS go in the
/// Npgsql connection string (or the caller's <c>NpgsqlDataSource</c>) instead.
/// </summary>
public sealed class PostgresBackendOptions
{
    /// <summary>
    /// The schema that holds the tables; <see langword="null"/> uses the first schema on the connection's
    /// <c>search_path</c> (usually <c>public</c>). It must exist: <see cref="CreateTables"/> creates tables, not schemas.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? Schema { get; set; }

    /// <summary>
    /// The start of the table names: the backend uses <c>{TablePrefix}state</c> and <c>{TablePrefix}log</c>, and
    /// notifies on the channel <c>{TablePrefix}changes</c> (<c>{Schema}.{TablePrefix}changes</c> with a schema).
    /// Lowercase letters, digits and underscores, so the names read the same quoted or not.
    /// </summary>
    /// <value>The default is <c>"tosc_"</c>: tables <c>tosc_state</c> and <c>tosc_log</c>.</value>
    public string TablePrefix { get; set; } = "tosc_";

    /// <summary>
    /// Whether the first call runs <c>CREATE TABLE IF NOT EXISTS</c> for both tables (under an advisory lock, so
    /// processes starting together do not race). Turn it off when a DBA creates the tables (the DDL is in
    /// docs/postgres-backend.md) and the application's user may not create tables.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool CreateTables { get; set; } = true;

    /// <summary>
    /// How long one statement may run before it fails with a transient <see cref="BackendException"/> (Npgsql's
    /// <c>CommandTimeout</c>, in whole seconds: a fraction is rounded up). It applies with either constructor.
    /// </summary>
    /// <value>The default is 5 seconds.</value>
    /// <remarks>
    /// A commit to a server that stops answering waits one timeout for the commit and one for the read-back that
    /// tells whether it landed, then throws <see cref="CommitOutcomeUnknownException"/>.
    /// </remarks>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a change wait reads the version although no notification arrived: the safety net for notifications
    /// missed while the listening connection was down, and the one poll interval in force (<see cref="ToscBackend.PollInterval"/>).
    /// </summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes; longer names are cut, channel names refused.</summary>
    internal const int MaxIdentifierBytes = 63;

    /// <summary>Checks every setting and returns a copy, so later changes to this instance have no effect.</summary>
    internal PostgresBackendOptions Validated()
    {
        if (Schema is not null && !IsName(Schema, allowEmpty: false))
            throw new ArgumentException($"PostgresBackendOptions.Schema must be null or a lowercase name (a-z, 0-9, _; not starting with a digit) of at most {MaxIdentifierBytes} characters; got '{Schema}'.", "options");
        if (TablePrefix is null || !IsName(TablePrefix, allowEmpty: true) || TablePrefix.Length + "changes".Length + (Schema is null ? 0 : Schema.Length + 1) > MaxIdentifierBytes)
            throw new ArgumentException($"PostgresBackendOptions.TablePrefix must be lowercase letters, digits and underscores (not starting with a digit), short enough that '{Schema}{(Schema is null ? "" : ".")}{TablePrefix}changes' fits in {MaxIdentifierBytes} characters; got '{TablePrefix}'.", "options");
        if (CommandTimeout < TimeSpan.FromMilliseconds(1) || CommandTimeout.TotalSeconds > int.MaxValue)
            throw new ArgumentException(Invariant($"PostgresBackendOptions.CommandTimeout must be between 1 ms and {int.MaxValue} s; got {CommandTimeout}."), "options");
        if (PollInterval <= TimeSpan.Zero || PollInterval == Timeout.InfiniteTimeSpan)
            throw new ArgumentException(Invariant($"PostgresBackendOptions.PollInterval must be positive and finite; got {PollInterval}."), "options");
        return new PostgresBackendOptions
        {
            Schema = Schema,
            TablePrefix = TablePrefix,
            CreateTables = CreateTables,
            CommandTimeout = CommandTimeout,
            PollInterval = PollInterval,
        };
    }

    /// <summary>The command timeout in Npgsql's whole seconds.</summary>
    internal int CommandTimeoutSeconds => (int)Math.Ceiling(CommandTimeout.TotalSeconds);

    private static bool IsName(string name, bool allowEmpty)
    {
        if (name.Length == 0)
            return allowEmpty;
        if (name.Length > MaxIdentifierBytes || Encoding.UTF8.GetByteCount(name) != name.Length || char.IsAsciiDigit(name[0]))
            return false;
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c != '_')
                return false;
        }
        return true;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
