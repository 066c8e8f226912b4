using System.Diagnostics;
using System.Globalization;

namespace Tosc;

/// <summary>
/// Stores one Tosc value in a regular file that any number of processes open by path, on one machine or on
/// several sharing an NFS or CephFS mount: the way to share configuration between processes.
/// </summary>
/// <remarks>
/// The file holds a snapshot followed by an operation log (<see cref="SupportsLog"/>): a delta commit appends one
/// checksummed frame under an advisory lock on the lock file (which the kernel releases when its holder dies) and
/// flushes it with one fsync. A compaction or a whole-state write writes a temporary file next to the store file,
/// flushes it and renames it over the store file, so a reader never sees a torn snapshot and a crash at any point
/// leaves the last committed state; a frame torn by a crash mid-append was never acknowledged and is ignored by
/// readers and cut off by the next writer. Other processes' commits are noticed through a file-system watcher
/// (inotify) and a slow poll. See docs/file-backend.md for the file format and the guarantees.
/// </remarks>
public sealed class FileBackend : ToscBackend
{
    private static readonly long CleanupPeriod = (long)(TempFiles.MaxAge.TotalSeconds * Stopwatch.Frequency);

    private readonly FileBackendOptions _options;
    private readonly string _directory;
    private readonly LockFile _lock;
    private readonly TempFiles _temps;
    private readonly WriteTokensFile _tokens;
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
        _tokens = new WriteTokensFile(FilePath + ".tokens");
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
    /// <remarks>The file keeps an operation log after the snapshot: an append is one write and one fsync under the lock.</remarks>
    public override bool SupportsLog => true;

    /// <inheritdoc/>
    /// <remarks>
    /// When <see cref="FileBackendOptions.UseFileSystemWatcher"/> is on (the default): a watcher on the file's directory
    /// (inotify on Linux) wakes waiters; where the system cannot watch, they still poll.
    /// </remarks>
    public override bool NotifiesChanges => _options.UseFileSystemWatcher;

    /// <inheritdoc/>
    /// <remarks>Checked under the store's lock; the write tokens live in a file beside the store file (its path + ".tokens").</remarks>
    public override bool ChecksConflicts => true;

    /// <inheritdoc/>
    protected override ValueTask<StoredState?> ReadCoreAsync(bool async, CancellationToken cancellationToken) =>
        new(StoredState.FromLog(Slice(ReadDecoded(), afterVersion: null)));

    /// <inheritdoc/>
    /// <remarks>Reads the header and the newest frame from the end of the file; checksums of the snapshot are checked by full reads and by commits.</remarks>
    protected override ValueTask<long?> ReadVersionCoreAsync(bool async, CancellationToken cancellationToken) => new(ProbeVersion());

    /// <inheritdoc/>
    protected override ValueTask<long?> WriteCoreAsync(ReadOnlyMemory<byte> data, WriteCondition condition, Guid commitId, bool async, CancellationToken cancellationToken) =>
        CommitAsync(async, data, condition, commitId, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>Walks back from the end of the file to <paramref name="afterVersion"/>, so it costs the records read, not the file size.</remarks>
    protected override ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken) =>
        new(ReadLog(afterVersion));

    /// <inheritdoc/>
    protected override ValueTask<Appended?> AppendCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken) =>
        AppendAsync(async, record, expectedVersion, commitId, check: null, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>
    /// Under the same lock as a plain append: the frames after the expected version are read back and their write
    /// tokens looked up in the file beside the store (<c>.tokens</c>); the record's own tokens are added there after
    /// its frame.
    /// </remarks>
    protected override ValueTask<Appended?> AppendCheckedCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck check, bool async, CancellationToken cancellationToken) =>
        AppendAsync(async, record, expectedVersion, commitId, check, cancellationToken);

    /// <inheritdoc/>
    protected override ValueTask<bool> CompactCoreAsync(ReadOnlyMemory<byte> snapshot, long version, bool async, CancellationToken cancellationToken) =>
        CompactAsync(async, snapshot, version, cancellationToken);

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
        ThrowIfTooLarge(data.Length, nameof(data));
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
                temp = WriteSnapshotFile(NextVersion(condition.ExpectedVersion), commitId, data);
            }
            using (await _lock.AcquireAsync(async, cancellationToken).ConfigureAwait(false))
            {
                CleanUpIfDue();
                // The whole file, checksums included: a damaged store is refused, never silently replaced.
                var current = ReadDecoded()?.Version;
                if (!condition.Allows(current))
                    return null;
                version = NextVersion(current);
                temp ??= WriteSnapshotFile(version, commitId, data);
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

    private async ValueTask<Appended?> AppendAsync(bool async, ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, AppendCheck? check, CancellationToken cancellationToken)
    {
        ThrowIfTooLarge(record.Length, nameof(record));
        // The version an append produces is the previous one + 1, so the frame is ready before the lock (a checked
        // append put after newer frames encodes it again there).
        var version = expectedVersion + 1;
        var frame = FileFormat.EncodeFrame(version, commitId, record.Span);
        List<LogRecord> placedAfter = [];
        using (await _lock.AcquireAsync(async, cancellationToken).ConfigureAwait(false))
        {
            CleanUpIfDue();
            string? temp = null;
            try
            {
                // Opened under the lock: a compaction renames a new file over the path, and appends go to the new one.
                using (var file = StoreFile.Open(FilePath, write: true))
                {
                    if (file?.Header is not { } header)
                        return null; // an empty store has no value to append to
                    if (header.Format == FileFormat.SnapshotOnlyFormat)
                    {
                        // A store written before the log: rewritten once as format 2, the snapshot followed by this frame.
                        var old = FileFormat.Decode(file.ReadAll(), FilePath)!;
                        if (old.Snapshot.Version != expectedVersion)
                            return null;
                        temp = WriteTemporary([FileFormat.EncodeHeader(old.Snapshot.Version, old.Snapshot.CommitId, old.Snapshot.Data.Span), old.Snapshot.Data, frame]);
                    }
                    else
                    {
                        if (file.Length < header.LogStart)
                            throw FileFormat.Invalid(FilePath, string.Create(CultureInfo.InvariantCulture, $"its header announces {header.SnapshotLength} snapshot bytes but the file holds {file.Length - FileFormat.HeaderSize} (truncated)"));
                        var tail = file.FindTail(verifyPayload: true);
                        if (tail.Version != expectedVersion)
                        {
                            if (check is null || Passed(file, header, tail, expectedVersion, check) is not { } passed)
                                return null;
                            placedAfter = passed;
                            version = tail.Version + 1;
                            frame = FileFormat.EncodeFrame(version, commitId, record.Span);
                        }
                        cancellationToken.ThrowIfCancellationRequested();
                        if (tail.End < file.Length)
                            file.Truncate(tail.End); // a torn frame of a writer that crashed mid-append: never acknowledged
                        RandomAccess.Write(file.Handle, frame, tail.End);
                        if (_options.Fsync)
                            RandomAccess.FlushToDisk(file.Handle);
                        if (check is not null)
                            _tokens.Append(version, commitId, check.Writes.Span);
                        return new Appended(version, checked((int)(version - header.Version)), tail.End + frame.Length - header.LogStart) { PlacedAfter = placedAfter };
                    }
                }
                cancellationToken.ThrowIfCancellationRequested();
                Replace(temp);
                temp = null;
                if (check is not null)
                    _tokens.Append(version, commitId, check.Writes.Span);
                return new Appended(version, 1, frame.Length);
            }
            catch (Exception e) when (FileErrors.IsFileSystem(e))
            {
                throw FileErrors.Backend(e, FilePath, "appending to");
            }
            finally
            {
                if (temp is not null)
                    TryDelete(temp);
            }
        }
    }

    /// <summary>
    /// The records after <paramref name="expectedVersion"/> when the file still holds that version and none of them
    /// wrote a token <paramref name="check"/> read (a record without tokens wrote everything); else <see langword="null"/>.
    /// </summary>
    private List<LogRecord>? Passed(StoreFile file, StoreHeader header, StoreFile.Tail tail, long expectedVersion, AppendCheck check)
    {
        if (expectedVersion < header.Version || expectedVersion > tail.Version || file.ReadBack(tail, checked((int)(tail.Version - expectedVersion))) is not { } records)
            return null;
        var tokens = _tokens.Read();
        foreach (var passed in records)
        {
            if (check.Collides(tokens.TryGetValue((passed.Version, passed.CommitId), out var written) ? written : null))
                return null;
        }
        return records;
    }

    private async ValueTask<bool> CompactAsync(bool async, ReadOnlyMemory<byte> snapshot, long version, CancellationToken cancellationToken)
    {
        ThrowIfTooLarge(snapshot.Length, nameof(snapshot));
        using (await _lock.AcquireAsync(async, cancellationToken).ConfigureAwait(false))
        {
            CleanUpIfDue();
            string? temp = null;
            try
            {
                // The whole file, checked: compaction rewrites it, and must not carry damage (or drop records) silently.
                var decoded = ReadDecoded();
                if (decoded is not { } current || version <= current.Snapshot.Version)
                    return false;
                var upTo = current.Records.FindIndex(record => record.Version == version);
                if (upTo < 0)
                    return false;
                List<ReadOnlyMemory<byte>> parts = [FileFormat.EncodeHeader(version, current.Records[upTo].CommitId, snapshot.Span), snapshot];
                foreach (var later in current.Records.Skip(upTo + 1))
                    parts.Add(FileFormat.EncodeFrame(later.Version, later.CommitId, later.Data.Span));
                temp = WriteTemporary(parts);
                cancellationToken.ThrowIfCancellationRequested();
                Replace(temp);
                temp = null;
                _tokens.KeepAfter(version, _temps.NewName());
                return true;
            }
            finally
            {
                if (temp is not null)
                    TryDelete(temp);
            }
        }
    }

    private static FileBackendOptions Validated(FileBackendOptions? options) => (options ?? new FileBackendOptions()).Validated();

    private static long NextVersion(long? current) => (current ?? 0) + 1;

    private static void ThrowIfTooLarge(int length, string parameter)
    {
        if (length > Array.MaxLength - FileFormat.HeaderSize - FileFormat.FrameOverhead)
            throw new ArgumentException($"The value is {length} bytes; a file store holds at most {Array.MaxLength - FileFormat.HeaderSize - FileFormat.FrameOverhead}.", parameter);
    }

    /// <summary>The records after <paramref name="afterVersion"/> when the file reaches back to it, else the snapshot and every record.</summary>
    private static LogSlice Slice(DecodedStore? file, long? afterVersion)
    {
        if (file is null)
            return new LogSlice(null, [], afterVersion);
        if (afterVersion is { } after)
        {
            if (after == file.Snapshot.Version)
                return new LogSlice(null, file.Records, afterVersion);
            var index = file.Records.FindIndex(record => record.Version == after);
            if (index >= 0)
                return new LogSlice(null, file.Records[(index + 1)..], afterVersion);
        }
        return new LogSlice(file.Snapshot, file.Records, afterVersion);
    }

    private string WriteSnapshotFile(long version, Guid commitId, ReadOnlyMemory<byte> data) =>
        WriteTemporary([FileFormat.EncodeHeader(version, commitId, data.Span), data]);

    private string WriteTemporary(IReadOnlyList<ReadOnlyMemory<byte>> parts)
    {
        var temp = _temps.NewName();
        try
        {
            using var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            RandomAccess.Write(handle, parts, fileOffset: 0);
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

    /// <summary>The whole file, decoded and checked; <see langword="null"/> for an empty store.</summary>
    private DecodedStore? ReadDecoded()
    {
        byte[] bytes;
        try
        {
            using var file = StoreFile.Open(FilePath, write: false);
            if (file is null)
                return null;
            bytes = file.ReadAll();
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            throw FileErrors.Backend(e, FilePath, "reading");
        }
        return FileFormat.Decode(bytes, FilePath);
    }

    private LogSlice ReadLog(long? afterVersion)
    {
        try
        {
            using var file = StoreFile.Open(FilePath, write: false);
            if (file?.Header is not { } header)
                return new LogSlice(null, [], afterVersion);
            if (afterVersion is { } after && after >= header.Version)
            {
                var tail = file.FindTail(verifyPayload: false);
                if (after == tail.Version)
                    return new LogSlice(null, [], afterVersion);
                if (after < tail.Version && file.ReadBack(tail, checked((int)(tail.Version - after))) is { } records)
                    return new LogSlice(null, records, afterVersion);
            }
            // Further back than the log reaches, or a frame on the way is torn: the whole file, checked.
            return Slice(FileFormat.Decode(file.ReadAll(), FilePath), afterVersion);
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            throw FileErrors.Backend(e, FilePath, "reading");
        }
    }

    /// <summary>The version alone, from the header and the newest frame: what a wait polls, cheaper than a full read.</summary>
    private long? ProbeVersion()
    {
        try
        {
            using var file = StoreFile.Open(FilePath, write: false);
            return file?.Header is null ? null : file.FindTail(verifyPayload: false).Version;
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            throw FileErrors.Backend(e, FilePath, "reading");
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
