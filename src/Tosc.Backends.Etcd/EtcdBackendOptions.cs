using System.Globalization;

namespace Tosc;

/// <summary>
/// Settings of an <see cref="EtcdBackend"/>. The endpoints go in the constructor; user, password and TLS in an
/// <c>EtcdClient</c> the caller builds and passes instead.
/// </summary>
public sealed class EtcdBackendOptions
{
    /// <summary>The smallest <see cref="MaxRequestBytes"/>: room for the keys and headers of a commit beside a chunk.</summary>
    public const int MinRequestBytes = 64 * 1024;

    /// <summary>
    /// How long one etcd call (a Txn, a range read, a chunk write) may take before it fails with a transient
    /// <see cref="BackendException"/>: the gRPC deadline of each call.
    /// </summary>
    /// <value>The default is 5 seconds.</value>
    /// <remarks>
    /// A commit to a cluster that stops answering (no leader, a partition) waits one timeout for the commit and one for
    /// the read-back that tells whether it landed, then throws <see cref="CommitOutcomeUnknownException"/>.
    /// </remarks>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a change wait reads the version although the watch reported nothing: the safety net for a watch that
    /// was down, and the one poll interval in force (<see cref="ToscBackend.PollInterval"/>).
    /// </summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The largest request the etcd server accepts: set it to the server's <c>--max-request-bytes</c>. A snapshot that
    /// does not fit in one request beside the commit's other keys is written in chunks of about this size, each in a
    /// request of its own, before the one Txn that makes them current; a log record (one transaction's changes) must fit
    /// in one request.
    /// </summary>
    /// <value>The default is 1.5 MiB (1,572,864 bytes), etcd's own default.</value>
    public int MaxRequestBytes { get; set; } = 1572864;

    /// <summary>Checks every setting and returns a copy, so later changes to this instance have no effect.</summary>
    internal EtcdBackendOptions Validated()
    {
        if (OperationTimeout < TimeSpan.FromMilliseconds(1) || OperationTimeout > TimeSpan.FromDays(1))
            throw new ArgumentException(Invariant($"EtcdBackendOptions.OperationTimeout must be between 1 ms and 1 day; got {OperationTimeout}."), "options");
        if (PollInterval <= TimeSpan.Zero || PollInterval == Timeout.InfiniteTimeSpan)
            throw new ArgumentException(Invariant($"EtcdBackendOptions.PollInterval must be positive and finite; got {PollInterval}."), "options");
        if (MaxRequestBytes < MinRequestBytes)
            throw new ArgumentException(Invariant($"EtcdBackendOptions.MaxRequestBytes must be at least {MinRequestBytes} (64 KiB) and match the server's --max-request-bytes; got {MaxRequestBytes}."), "options");
        return new EtcdBackendOptions
        {
            OperationTimeout = OperationTimeout,
            PollInterval = PollInterval,
            MaxRequestBytes = MaxRequestBytes,
        };
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
