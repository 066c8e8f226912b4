using System.Globalization;

namespace Tosc;

/// <summary>
/// Settings of a <see cref="RedisBackend"/>. The server address, TLS (<c>ssl=true,sslHost=...</c>), the ACL user and
/// the password (<c>user=...,password=...</c>) go in the StackExchange.Redis configuration string instead.
/// </summary>
public sealed class RedisBackendOptions
{
    /// <summary>Prepended to the store key, so several applications can share one database.</summary>
    /// <value>The default is <c>"tosc:"</c>.</value>
    public string KeyPrefix { get; set; } = "tosc:";

    /// <summary>The Redis database number; -1 uses the configuration string's <c>defaultDatabase</c> (else 0).</summary>
    /// <value>The default is -1.</value>
    public int Database { get; set; } = -1;

    /// <summary>
    /// How long one read, write or version probe may take before it fails with a transient <see cref="BackendException"/>:
    /// the <c>syncTimeout</c> and <c>asyncTimeout</c> of a connection the backend opens. A caller's multiplexer keeps its own.
    /// </summary>
    /// <value>The default is 3 seconds.</value>
    /// <remarks>
    /// A commit to a server that stops answering (stuck, paused, or cut off without the connection closing) waits one
    /// timeout for the commit and one for the read-back that tells whether it landed, then throws
    /// <see cref="CommitOutcomeUnknownException"/>: about 6 to 8 seconds with the default (the client checks timeouts once a
    /// second). Raise it for very large states on slow links; lower it to give up sooner.
    /// </remarks>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long the constructor that takes a configuration string waits for each connection attempt.</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a change wait reads the version although no pub/sub message arrived: the safety net for messages lost
    /// while the connection was down, and the one poll interval in force (<see cref="ToscBackend.PollInterval"/>).
    /// </summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Checks every setting and returns a copy, so later changes to this instance have no effect.</summary>
    internal RedisBackendOptions Validated()
    {
        if (KeyPrefix is null)
            throw new ArgumentException("RedisBackendOptions.KeyPrefix must not be null; use \"\" for no prefix.", "options");
        if (Database < -1)
            throw new ArgumentException(Invariant($"RedisBackendOptions.Database must be -1 (the configuration's default) or a database number >= 0; got {Database}."), "options");
        CheckDuration(OperationTimeout, nameof(OperationTimeout));
        CheckDuration(ConnectTimeout, nameof(ConnectTimeout));
        CheckDuration(PollInterval, nameof(PollInterval));
        return new RedisBackendOptions
        {
            KeyPrefix = KeyPrefix,
            Database = Database,
            OperationTimeout = OperationTimeout,
            ConnectTimeout = ConnectTimeout,
            PollInterval = PollInterval,
        };
    }

    private static void CheckDuration(TimeSpan value, string name)
    {
        // StackExchange.Redis takes whole milliseconds as an int.
        if (value < TimeSpan.FromMilliseconds(1) || value.TotalMilliseconds > int.MaxValue)
            throw new ArgumentException(Invariant($"RedisBackendOptions.{name} must be between 1 ms and {int.MaxValue} ms; got {value}."), "options");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
