namespace Tosc;

/// <summary>
/// One <see cref="FileSystemWatcher"/> per directory and process, shared by every backend whose file is in it:
/// Linux allows a user only 128 inotify instances by default, and each watcher takes one.
/// </summary>
internal static class DirectoryWatchers
{
    private static readonly Dictionary<string, Shared> ByDirectory = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    /// <summary>
    /// Calls <paramref name="changed"/> whenever <paramref name="fileName"/> in <paramref name="directory"/> is
    /// created, written, renamed onto or deleted, and when the watcher overflows. Returns <see langword="null"/>
    /// when the system cannot watch (inotify limits, an unsupported file system): the caller then relies on polling.
    /// </summary>
    public static IDisposable? Subscribe(string directory, string fileName, Action changed)
    {
        var subscription = new Subscription(directory, fileName, changed);
        lock (Gate)
        {
            if (!ByDirectory.TryGetValue(directory, out var shared))
            {
                try
                {
                    shared = new Shared(directory);
                }
                catch (Exception e) when (e is IOException or PlatformNotSupportedException or ArgumentException or UnauthorizedAccessException)
                {
                    return null;
                }
                ByDirectory.Add(directory, shared);
            }
            shared.Subscriptions = [.. shared.Subscriptions, subscription];
        }
        return subscription;
    }

    private static void Unsubscribe(Subscription subscription)
    {
        lock (Gate)
        {
            if (!ByDirectory.TryGetValue(subscription.Directory, out var shared))
                return;
            shared.Subscriptions = [.. shared.Subscriptions.Where(s => s != subscription)];
            if (shared.Subscriptions.Length > 0)
                return;
            ByDirectory.Remove(subscription.Directory);
            shared.Dispose();
        }
    }

    private sealed class Shared : IDisposable
    {
        private readonly FileSystemWatcher _watcher;

        public Shared(string directory)
        {
            _watcher = new FileSystemWatcher(directory)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                IncludeSubdirectories = false,
            };
            // A commit renames a temporary file onto the store file: that is a rename event for the store's name.
            _watcher.Changed += (_, e) => Raise(e.Name);
            _watcher.Created += (_, e) => Raise(e.Name);
            _watcher.Deleted += (_, e) => Raise(e.Name);
            _watcher.Renamed += (_, e) =>
            {
                Raise(e.Name);
                Raise(e.OldName);
            };
            // Lost events (queue overflow) or a broken watch: wake everyone, they re-read the version.
            _watcher.Error += (_, _) => Raise(null);
            try
            {
                _watcher.EnableRaisingEvents = true;
            }
            catch
            {
                _watcher.Dispose();
                throw;
            }
        }

        // Replaced whole under Gate, read without it by the watcher's event thread.
        public Subscription[] Subscriptions
        {
            get => Volatile.Read(ref _subscriptions);
            set => Volatile.Write(ref _subscriptions, value);
        }

        private Subscription[] _subscriptions = [];

        public void Dispose() => _watcher.Dispose();

        private void Raise(string? name)
        {
            foreach (var subscription in Subscriptions)
            {
                if (name is null || string.Equals(name, subscription.FileName, FileNameComparison))
                    subscription.Changed();
            }
        }
    }

    private static StringComparison FileNameComparison =>
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private sealed class Subscription(string directory, string fileName, Action changed) : IDisposable
    {
        private int _disposed;

        public string Directory { get; } = directory;

        public string FileName { get; } = fileName;

        public void Changed()
        {
            if (Volatile.Read(ref _disposed) == 0)
                changed();
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                Unsubscribe(this);
        }
    }
}
