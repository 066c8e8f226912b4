namespace Tosc;

/// <summary>Turns file-system exceptions into <see cref="BackendException"/>s that name the path and what to fix.</summary>
internal static class FileErrors
{
    public static BackendException Backend(Exception error, string path, string doing) => error switch
    {
        UnauthorizedAccessException => new BackendException(
            $"Access denied {doing} '{path}'. Give this process read and write permission on it and on its directory, and check that it is a regular file, not a directory.",
            isTransient: false, error),
        DirectoryNotFoundException => new BackendException(
            $"The directory of '{path}' does not exist (any more) while {doing}. Create it, or point the FileBackend at an existing directory.",
            isTransient: false, error),
        PathTooLongException => new BackendException($"The path '{path}' is too long ({doing}).", isTransient: false, error),
        _ => new BackendException($"I/O error {doing} '{path}': {error.Message}", isTransient: true, error),
    };

    /// <summary>Whether <paramref name="error"/> is a file-system failure to wrap (not a data error or a cancellation).</summary>
    public static bool IsFileSystem(Exception error) => error is IOException or UnauthorizedAccessException;
}
