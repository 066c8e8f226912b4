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
