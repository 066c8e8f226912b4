namespace Tosc;

/// <summary>Settings of a <see cref="FileBackend"/>. The backend copies them when it is created.</summary>
public sealed class FileBackendOptions
{
    private static readonly TimeSpan MaxDuration = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>
    /// Whether each commit is flushed to the disk (the file after an append; a new file before its rename, and the
    /// directory after it), so a committed state survives a power loss or an OS crash, not only a crash of the process.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool Fsync { get; set; } = true;

    /// <summary>
    /// How often a wait for changes re-reads the file's version even when no file-system event came: the safety
    /// net for lost events and for network file systems, which report no writes by other machines.
    /// </summary>
    /// <value>The default is 2 seconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether to watch the directory (inotify on Linux) for prompt notice of other processes' commits.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool UseFileSystemWatcher { get; set; } = true;

    /// <summary>How long a commit waits for the lock file before it fails with a <see cref="BackendException"/>.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    internal FileBackendOptions Validated()
    {
        if (PollInterval <= TimeSpan.Zero || PollInterval > MaxDuration)
            throw new ArgumentException($"FileBackendOptions.PollInterval must be positive and at most {MaxDuration.TotalDays:0} days; got {PollInterval}.", "options");
        if (LockTimeout <= TimeSpan.Zero || LockTimeout > MaxDuration)
            throw new ArgumentException($"FileBackendOptions.LockTimeout must be positive and at most {MaxDuration.TotalDays:0} days; got {LockTimeout}.", "options");
        return new FileBackendOptions
        {
            Fsync = Fsync,
            PollInterval = PollInterval,
            UseFileSystemWatcher = UseFileSystemWatcher,
            LockTimeout = LockTimeout,
        };
    }
}
