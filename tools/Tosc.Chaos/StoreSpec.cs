namespace Tosc.Chaos;

/// <summary>Which store the run uses, in a form a worker process receives on its command line.</summary>
internal sealed record StoreSpec(string Backend, string Location)
{
    /// <summary>Opens a backend for this store. Throws <see cref="BackendException"/> when the server is down.</summary>
    public IBackend Open(InprocBackend? shared = null)
    {
        switch (Backend)
        {
            case "inproc":
                return new SharedInproc(shared ?? throw new InvalidOperationException("The in-process store exists only inside the runner."));
            case "file":
                return new FileBackend(Location, options: new FileBackendOptions { PollInterval = TimeSpan.FromMilliseconds(500) });
            case "redis":
            {
                var (configuration, key) = Split2(Location);
                return new RedisBackend(configuration, key, new RedisBackendOptions { PollInterval = TimeSpan.FromSeconds(1), ConnectTimeout = TimeSpan.FromSeconds(3) });
            }
            case "etcd":
            {
                var (endpoints, key) = Split2(Location);
                return new EtcdBackend(endpoints, key, new EtcdBackendOptions { PollInterval = TimeSpan.FromSeconds(1), OperationTimeout = TimeSpan.FromSeconds(3) });
            }
            case "blob":
            {
                var parts = Location.Split('|');
                return new BlobBackend(parts[0], parts[1], parts[2], new BlobBackendOptions { CreateContainerIfMissing = true, PollInterval = TimeSpan.FromMilliseconds(500) });
            }
            default:
                throw new ArgumentException($"Unknown backend '{Backend}'; use inproc, file, redis, blob or etcd.");
        }
    }

    private static (string, string) Split2(string text)
    {
        var bar = text.IndexOf('|', StringComparison.Ordinal);
        return (text[..bar], text[(bar + 1)..]);
    }

    /// <summary>A client of the runner's one in-process store: disposing it leaves the store open for the others.</summary>
    private sealed class SharedInproc(InprocBackend store) : IBackend
    {
        public StoredState? Read(CancellationToken cancellationToken = default) => store.Read(cancellationToken);

        public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) => store.ReadAsync(cancellationToken);

        public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => store.Write(data, commitId, cancellationToken);

        public ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => store.WriteAsync(data, commitId, cancellationToken);

        public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
            store.TryWrite(data, expectedVersion, commitId, cancellationToken);

        public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
            store.TryWriteAsync(data, expectedVersion, commitId, cancellationToken);

        public ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default) =>
            store.WaitForChangeAsync(knownVersion, timeout, cancellationToken);

        public void Dispose()
        {
        }
    }
}
