namespace Tosc;

/// <summary>The store behind a backend failed: unreachable, refused the credentials, timed out, or returned something unexpected.</summary>
public class BackendException : ToscException
{
    /// <summary>Creates the exception.</summary>
    public BackendException(string message, bool isTransient, Exception? innerException = null)
        : base(message, innerException) => IsTransient = isTransient;

    /// <summary>Creates a non-transient exception.</summary>
    public BackendException(string message) : this(message, false) { }

    /// <summary>Creates a non-transient exception.</summary>
    public BackendException(string message, Exception? innerException) : this(message, false, innerException) { }

    /// <summary>Creates the exception.</summary>
    public BackendException() : this("The backend failed.", false) { }

    /// <summary>
    /// <see langword="true"/> when the same call may succeed if tried again (a timeout, a dropped connection,
    /// a server restarting); <see langword="false"/> for failures that need a fix (bad credentials, missing container).
    /// </summary>
    public bool IsTransient { get; }
}

/// <summary>
/// A commit's reply was lost and the store cannot tell whether it was stored (another commit landed since, or the
/// store did not answer the read-back). The local changes were rolled back and nothing is retried automatically,
/// because doing the change again might apply it twice; the manager shows the stored state once it refreshes.
/// Check the stored state before repeating the change.
/// </summary>
public sealed class CommitOutcomeUnknownException : BackendException
{
    /// <summary>Creates the exception.</summary>
    public CommitOutcomeUnknownException(Exception? innerException)
        : base("A commit's reply was lost and whether it was stored cannot be told (another commit has landed since, or the store did not answer). " +
               "The local changes were rolled back and the change was not retried, so it cannot be applied twice; check the stored state before repeating it.",
               isTransient: false, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public CommitOutcomeUnknownException() : this(null) { }

    /// <summary>Creates the exception.</summary>
    public CommitOutcomeUnknownException(string message, Exception? innerException) : base(message, false, innerException) { }
}
