namespace Tosc;

/// <summary>The root of every exception Tosc throws for its own reasons.</summary>
public class ToscException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ToscException() { }

    /// <summary>Creates the exception.</summary>
    public ToscException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public ToscException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>Stored bytes cannot be decoded, a value cannot be encoded, or a stored type is not allowed.</summary>
public class ToscDataException : ToscException
{
    /// <summary>Creates the exception.</summary>
    public ToscDataException() { }

    /// <summary>Creates the exception.</summary>
    public ToscDataException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public ToscDataException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A transaction did not commit. Its local changes were rolled back.</summary>
public class TransactionException : ToscException
{
    /// <summary>Creates the exception.</summary>
    public TransactionException() { }

    /// <summary>Creates the exception.</summary>
    public TransactionException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public TransactionException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// Someone else committed first: the store no longer holds the version the transaction started from.
/// The local changes were rolled back and the manager refreshed, so running the body again sees fresh data.
/// </summary>
public class TransactionConflictException : TransactionException
{
    /// <summary>Creates the exception.</summary>
    public TransactionConflictException(long? expectedVersion, long? actualVersion)
        : this(expectedVersion, actualVersion, []) { }

    /// <summary>Creates the exception, naming where the transaction collided.</summary>
    public TransactionConflictException(long? expectedVersion, long? actualVersion, IReadOnlyList<string> conflictingPaths)
        : base($"Someone else committed first{Where(conflictingPaths)}: the transaction started from version {Show(expectedVersion)}, the store now holds {Show(actualVersion)}. Local changes were rolled back.")
    {
        ArgumentNullException.ThrowIfNull(conflictingPaths);
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
        ConflictingPaths = conflictingPaths;
    }

    /// <summary>Creates the exception.</summary>
    public TransactionConflictException() { }

    /// <summary>Creates the exception.</summary>
    public TransactionConflictException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public TransactionConflictException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>The version the transaction started from (<see langword="null"/>: nothing was stored).</summary>
    public long? ExpectedVersion { get; }

    /// <summary>The version found in the store after the conflict, when it was read back.</summary>
    public long? ActualVersion { get; }

    /// <summary>
    /// What the transaction read that a commit made meanwhile changed, as paths from the root such as
    /// <c>Stock["apples"]</c> or <c>Items[2].Limit</c>. Empty when the store could not say (the log no longer reached
    /// back to the transaction's start, or the backend keeps no log).
    /// </summary>
    public IReadOnlyList<string> ConflictingPaths { get; } = [];

    private static string Where(IReadOnlyList<string> paths) => paths.Count == 0 ? "" : $" and changed {string.Join(", ", paths)}";

    private static string Show(long? version) => version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(empty)";
}

/// <summary>A retried transaction still conflicted after the allowed number of retries.</summary>
public class TransactionRetryException : TransactionException
{
    /// <summary>Creates the exception.</summary>
    public TransactionRetryException(int attempts, Exception? lastConflict)
        : base($"The transaction conflicted on all {attempts} attempts; raise the retry limit or reduce contention.", lastConflict)
        => Attempts = attempts;

    /// <summary>Creates the exception.</summary>
    public TransactionRetryException() { }

    /// <summary>Creates the exception.</summary>
    public TransactionRetryException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public TransactionRetryException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>How many times the body ran.</summary>
    public int Attempts { get; }
}

/// <summary>A retried transaction did not commit before its deadline.</summary>
public class TransactionTimeoutException : TransactionException
{
    /// <summary>Creates the exception.</summary>
    public TransactionTimeoutException(TimeSpan timeout, int attempts, Exception? lastConflict)
        : base($"The transaction did not commit within {timeout.TotalSeconds:0.###} s ({attempts} attempts).", lastConflict)
    {
        Timeout = timeout;
        Attempts = attempts;
    }

    /// <summary>Creates the exception.</summary>
    public TransactionTimeoutException() { }

    /// <summary>Creates the exception.</summary>
    public TransactionTimeoutException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public TransactionTimeoutException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>The deadline that passed.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>How many times the body ran.</summary>
    public int Attempts { get; }
}
