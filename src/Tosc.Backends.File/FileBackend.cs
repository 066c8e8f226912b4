using System.Diagnostics;

namespace Tosc;

/// <summary>
/// Stores one Tosc value in a regular file that any number of processes open by path, on one machine or on
/// several sharing an NFS or CephFS mount: the way to share configuration between processes.
/// </summary>
/// <remarks>
/// A commit writes a temporary file next to the store file, flushes it, and renames it over the store file,
/// so a reader never sees a torn file and a crash at any point leaves the last committed state. Compare-and-swap
/// runs under an advisory lock on the lock file, which the kernel releases when its holder dies. Other
/// processes' commits are noticed through a file-system watcher (inotify) and a slow poll.
/// See docs/file-backend.md for the file format and the guarantees.
/// </remarks>
public sealed class FileBackend : ToscBackend
{
    private static readonly long CleanupPeriod = (long)(TempFiles.MaxAge.TotalSeconds * Stopwatch.Frequency);

    private readonly FileBackendOptions _options;
    private readonly string _directory;
    private readonly LockFile _lock;
    private readonly TempFiles _temps;
    private readonly Lock _gate = new();
    private IDisposable? _watch;
    private long _nextCleanup;

    /// <summary>Opens the store in the file at <paramref name="path"/>; the file is created by the first commit.</summary>
    /// <param name="path">The store file. Its directory must exist.</param>
    /// <param name="lockPath">The lock file every process committing to this store uses; the default is <paramref name="path"/> + ".lock".</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <exception cref="BackendException">The directory does not exist.</exception>
    /// <exception cref="ToscDataException">The file exists and is not a Tosc store.</exception>
    public FileBackend(string path, string? lockPath = null, FileBackendOptions? options = null)
        : base(Validated(options).PollInterval)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (lockPath is not null)
            ArgumentException.ThrowIfNullOrWhiteSpace(lockPath);
        _options = Validated(options);
        ThrowIfFileLockingIsOff();

        FilePath = Path.GetFullPath(path);
        if (Path.EndsInDirectorySeparator(path) || Directory.Exists(FilePath))
            throw new ArgumentException($"'{FilePath}' is a directory; pass the path of a file in it, such as '{Path.Combine(FilePath, "state.tosc")}'.", nameof(path));
        _directory = Path.GetDirectoryName(FilePath) ?? throw new ArgumentException($"'{FilePath}' is not a file path.", nameof(path));
        RequireDirectory(_directory, FilePath);
        LockPath = Path.GetFullPath(lockPath ?? FilePath + ".lock");
        if (string.Equals(LockPath, FilePath, StringComparison.Ordinal))
            throw new ArgumentException($"The lock file must be another file than the store file '{FilePath}'.", nameof(lockPath));
        RequireDirectory(Path.GetDirectoryName(LockPath)!, LockPath);

        _lock = new LockFile(LockPath, _options.LockTimeout);
        _temps = new TempFiles(FilePath);
        _temps.Clean();
        _nextCleanup = Stopwatch.GetTimestamp() + CleanupPeriod;
        // Fail fast when pointed at a file that is not a store (a typo, someone's JSON config).
        ProbeVersion();
    }

    /// <summary>The full path of the store file.</summary>
    public string FilePath { get; }

    /// <summary>The full path of the lock file.</summary>
    public string LockPath { get; }

    /// <inheritdoc/>
    protected override ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken) => new(ReadState());

    /// <inheritdoc/>
    /// <remarks>Reads the 48-byte header alone; the payload and its checksum are checked by full reads and by commits.</remarks>
    protected override ValueTask<long?> ReadVersionCoreAsync(bool async, CancellationToken cancellationToken) => new(ProbeVersion());

    /// <inheritdoc/>
    protected override ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken) =>
        CommitAsync(async, data, condition, commitId, cancellationToken);

    /// <summary>Stops watching the directory. The files stay; nothing is held that other processes wait for.</summary>
    protected override void Dispose(bool disposing)
    {
        IDisposable? watch;
        lock (_gate)
        {
            watch = _watch;
            _watch = null;
        }
        watch?.Dispose();
    }

    private async ValueTask<long?> CommitAsync(bool async, ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, CancellationToken cancellationToken)
    {
        if (data.Length > Array.MaxLength - FileFormat.HeaderSize)
            throw new ArgumentException($"The value is {data.Length} bytes; a file store holds at most {Array.MaxLength - FileFormat.HeaderSize}.", nameof(data));
        string? temp = null;
        long version;
        try
        {
            if (!condition.IsUnconditional)
            {
                // A stale expectation fails without touching the lock; otherwise the slow part (writing and
                // flushing the new file) happens before taking it, so the lock is held for a check and a rename.
                if (!condition.Allows(ProbeVersion()))
                    return null;
                temp = WriteTemporary(NextVersion(condition.ExpectedVersion), data, commitId);
            }
            using (await _lock.AcquireAsync(async, cancellationToken).ConfigureAwait(false))
            {
                CleanUpIfDue();
                // The whole file, checksum included: a damaged store is refused, never silently replaced.
                var current = ReadState()?.Version;
                if (!condition.Allows(current))
                    return null;
                version = NextVersion(current);
                temp ??= WriteTemporary(version, data, commitId);
                cancellationToken.ThrowIfCancellationRequested();
                Replace(temp);
                temp = null;
            }
        }
        finally
        {
            if (temp is not null)
                TryDelete(temp);
        }
        return version;
    }

    private static FileBackendOptions Validated(FileBackendOptions? options) => (options ?? new FileBackendOptions()).Validated();

    private static long NextVersion(long? current) => (current ?? 0) + 1;

    private string WriteTemporary(long version, ReadOnlyMemory<byte> data, Guid commitId)
    {
        var header = FileFormat.EncodeHeader(version, commitId, data.Span);
        var temp = _temps.NewName();
        try
        {
            using var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            RandomAccess.Write(handle, [header, data], fileOffset: 0);
            if (_options.Fsync)
                RandomAccess.FlushToDisk(handle);
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            TryDelete(temp);
            throw FileErrors.Backend(e, temp, "writing the temporary file");
        }
        return temp;
    }

    private void Replace(string temp)
    {
        try
        {
            File.Move(temp, FilePath, overwrite: true);
        }
        catch (FileNotFoundException e)
        {
            throw new BackendException($"The temporary file '{temp}' vanished before it could replace '{FilePath}' (deleted as stale by another process?); nothing was committed.", isTransient: true, e);
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            throw FileErrors.Backend(e, FilePath, "replacing");
        }
        if (_options.Fsync)
            NativeMethods.FsyncDirectory(_directory);
    }

    private StoredState? ReadState()
    {
        byte[] bytes;
        try
        {
            using var handle = OpenForReading();
            if (handle is null)
                return null;
            var length = RandomAccess.GetLength(handle);
            if (length > Array.MaxLength)
                throw new ToscDataException($"'{FilePath}' is {length} bytes, too large to be a Tosc store file.");
            bytes = new byte[length];
            var filled = 0;
            while (filled < bytes.Length)
            {
                var read = RandomAccess.Read(handle, bytes.AsSpan(filled), filled);
                if (read == 0)
                    break;
                filled += read;
            }
            if (filled < bytes.Length)
                Array.Resize(ref bytes, filled); // shrunk while we read: rewritten in place by something that is not Tosc
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            throw FileErrors.Backend(e, FilePath, "reading");
        }
        return FileFormat.Decode(bytes, FilePath);
    }

    /// <summary>The version in the header alone: what a wait polls, cheaper than reading the payload.</summary>
    private long? ProbeVersion()
    {
        Span<byte> header = stackalloc byte[FileFormat.HeaderSize];
        try
        {
            using var handle = OpenForReading();
            if (handle is null)
                return null;
            var length = RandomAccess.GetLength(handle);
            var filled = 0;
            while (filled < header.Length)
            {
                var read = RandomAccess.Read(handle, header[filled..], filled);
                if (read == 0)
                    break;
                filled += read;
            }
            return FileFormat.ReadVersion(header[..filled], length, FilePath);
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            throw FileErrors.Backend(e, FilePath, "reading");
        }
    }

    private Microsoft.Win32.SafeHandles.SafeFileHandle? OpenForReading()
    {
        try
        {
            // FileShare.Delete: on Windows a commit may rename over the file while we read it.
            return File.OpenHandle(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private void CleanUpIfDue()
    {
        var now = Stopwatch.GetTimestamp();
        if (now < Volatile.Read(ref _nextCleanup))
            return;
        Volatile.Write(ref _nextCleanup, now + CleanupPeriod);
        _temps.Clean();
    }

    /// <inheritdoc/>
    /// <remarks>Events from other machines on a network file system never come; the poll finds those changes.</remarks>
    protected override void StartWatching()
    {
        if (!_options.UseFileSystemWatcher)
            return;
        lock (_gate)
        {
            if (IsDisposed)
                return;
            // Null when the system cannot watch (inotify limits): the poll still finds every change.
            _watch = DirectoryWatchers.Subscribe(_directory, Path.GetFileName(FilePath), Changes.Notify);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            // A leftover temporary file is removed by a later cleanup.
        }
    }

    private static void RequireDirectory(string directory, string forPath)
    {
        if (Directory.Exists(directory))
            return;
        if (File.Exists(directory))
            throw new BackendException($"'{directory}' is a file, not a directory, so '{forPath}' cannot be created in it.", isTransient: false);
        throw new BackendException($"The directory '{directory}' does not exist; create it before opening '{forPath}'.", isTransient: false);
    }

    private static void ThrowIfFileLockingIsOff()
    {
        if (OperatingSystem.IsWindows())
            return;
        var off = (AppContext.TryGetSwitch("System.IO.DisableFileLocking", out var disabled) && disabled)
            || Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING") is { } value
                && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));
        if (off)
            throw new InvalidOperationException(
                "File locking is turned off in this process (the System.IO.DisableFileLocking switch or the DOTNET_SYSTEM_IO_DISABLEFILELOCKING variable), " +
                "so FileBackend could not keep other processes from committing at the same time. Remove that setting to use FileBackend.");
    }
}
