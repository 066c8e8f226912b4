using System.Collections.Concurrent;
using System.Diagnostics;

namespace Tosc;

/// <summary>
/// Mutual exclusion on a lock file across threads, FileBackend instances and processes (also on other machines
/// sharing an NFS mount). The kernel drops the lock when its holder dies, so a crash never blocks the others.
/// </summary>
/// <remarks>
/// Across processes: opening the lock file with <see cref="FileShare.None"/>, which .NET implements as
/// <c>flock(LOCK_EX | LOCK_NB)</c> on Unix (Linux emulates it with an fcntl lock over NFS) and as a sharing
/// mode on Windows; closing the handle releases it. Within a process: a semaphore per lock path, so threads
/// queue without polling, and because fcntl locks (NFS) belong to the process, not to the handle.
/// </remarks>
internal sealed class LockFile
{
    // A process uses a handful of lock paths; their semaphores live as long as the process.
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);
    private const int MaxPauseMilliseconds = 16;

    private readonly SemaphoreSlim _gate;
    private readonly TimeSpan _timeout;

    public LockFile(string path, TimeSpan timeout)
    {
        Path = path;
        _timeout = timeout;
        _gate = Gates.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
    }

    public string Path { get; }

    /// <summary>Waits for the lock; dispose the result to release it.</summary>
    public async ValueTask<Held> AcquireAsync(bool async, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var entered = async
            ? await _gate.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false)
            : _gate.Wait(_timeout, cancellationToken);
        if (!entered)
            throw TimedOut("a thread of this process");
        try
        {
            var pause = 1;
            while (true)
            {
                if (TryOpen() is { } stream)
                    return new Held(stream, _gate);
                var left = _timeout - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                    throw TimedOut("another process");
                // Another process holds it: poll with a short backoff (sleeping, not spinning).
                var wait = TimeSpan.FromMilliseconds(Math.Min(pause, left.TotalMilliseconds));
                pause = Math.Min(pause * 2, MaxPauseMilliseconds);
                if (async)
                    await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                else if (cancellationToken.CanBeCanceled)
                    cancellationToken.WaitHandle.WaitOne(wait);
                else
                    Thread.Sleep(wait);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    private FileStream? TryOpen()
    {
        try
        {
            return new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        }
        catch (IOException e) when (IsHeldElsewhere(e))
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw FileErrors.Backend(e, Path, "opening the lock file");
        }
    }

    // EWOULDBLOCK from flock (11 on Linux, 35 on macOS and the BSDs); a sharing or lock violation on Windows.
    private static bool IsHeldElsewhere(IOException e) =>
        e.GetType() == typeof(IOException) && e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    private BackendException TimedOut(string holder) =>
        new($"Timed out after {_timeout.TotalSeconds:0.###} s waiting for the lock file '{Path}', held by {holder}. " +
            "A holder that dies releases it at once, so a live process is committing slowly or is stuck; " +
            "raise FileBackendOptions.LockTimeout if commits are legitimately slow.", isTransient: true);

    /// <summary>The held lock; disposing releases it.</summary>
    public sealed class Held(FileStream stream, SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
                return;
            try
            {
                stream.Dispose();
            }
            finally
            {
                gate.Release();
            }
        }
    }
}
