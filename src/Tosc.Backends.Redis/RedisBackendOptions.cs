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

    /// <summary>
    /// How many replicas must acknowledge each commit (Redis <c>WAIT</c>) before it is reported as a success; 0 does not
    /// wait. Redis replicates asynchronously, so without it a failover can lose the last commits the master acknowledged.
    /// </summary>
    /// <value>The default is 0: commits are acknowledged by the master alone.</value>
    /// <remarks>
    /// A commit the replicas do not acknowledge within <see cref="WaitForReplicasTimeout"/> is not reported as a success: it
    /// is in doubt, and the core reads it back (waiting for the replicas again) and succeeds only when the commit is stored
    /// and replicated, else throws <see cref="CommitOutcomeUnknownException"/>. While the master has fewer replicas than
    /// this (a replica down, or just promoted and not yet given a replica), every commit ends that way. See
    /// docs/redis-backend.md, "Replication and failover".
    /// </remarks>
    public int WaitForReplicas { get; set; }

    /// <summary>
    /// How long a commit waits for <see cref="WaitForReplicas"/> replicas to acknowledge it. The wait holds the connection
    /// to that master (other calls over it queue behind it), so keep it short and below <see cref="OperationTimeout"/>.
    /// </summary>
    /// <value>The default is 1 second.</value>
    public TimeSpan WaitForReplicasTimeout { get; set; } = TimeSpan.FromSeconds(1);

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
        CheckDuration(WaitForReplicasTimeout, nameof(WaitForReplicasTimeout));
        if (WaitForReplicas < 0)
            throw new ArgumentException(Invariant($"RedisBackendOptions.WaitForReplicas must be 0 (do not wait) or a number of replicas; got {WaitForReplicas}."), "options");
        if (WaitForReplicas > 0 && WaitForReplicasTimeout >= OperationTimeout)
            throw new ArgumentException(Invariant($"RedisBackendOptions.WaitForReplicasTimeout ({WaitForReplicasTimeout}) must be shorter than OperationTimeout ({OperationTimeout}), or the client gives up on the wait before the server answers."), "options");
        return new RedisBackendOptions
        {
            KeyPrefix = KeyPrefix,
            Database = Database,
            OperationTimeout = OperationTimeout,
            ConnectTimeout = ConnectTimeout,
            PollInterval = PollInterval,
            WaitForReplicas = WaitForReplicas,
            WaitForReplicasTimeout = WaitForReplicasTimeout,
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
