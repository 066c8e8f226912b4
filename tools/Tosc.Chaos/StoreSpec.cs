using Tosc.Testing;

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
                return new PrimitivesOnlyBackend(shared ?? throw new InvalidOperationException("The in-process store exists only inside the runner."));
            case "file":
                return new FileBackend(Location, options: new FileBackendOptions { PollInterval = TimeSpan.FromMilliseconds(500) });
            case "redis" or "redis-cluster":
            {
                // On the cluster, a commit waits for the slot's replica: a failover then loses no acknowledged commit.
                var (configuration, key) = Split2(Location);
                return new RedisBackend(configuration, key, new RedisBackendOptions
                {
                    PollInterval = TimeSpan.FromSeconds(1),
                    ConnectTimeout = TimeSpan.FromSeconds(3),
                    WaitForReplicas = Backend == "redis-cluster" ? 1 : 0,
                });
            }
            case "etcd":
            {
                var (endpoints, key) = Split2(Location);
                return new EtcdBackend(endpoints, key, new EtcdBackendOptions { PollInterval = TimeSpan.FromSeconds(1), OperationTimeout = TimeSpan.FromSeconds(3) });
            }
            case "postgres":
            {
                var (connectionString, key) = Split2(Location);
                return new PostgresBackend(connectionString, key, new PostgresBackendOptions { PollInterval = TimeSpan.FromSeconds(1), CommandTimeout = TimeSpan.FromSeconds(3) });
            }
            case "blob":
            {
                var parts = Location.Split('|');
                return new BlobBackend(parts[0], parts[1], parts[2], new BlobBackendOptions { CreateContainerIfMissing = true, PollInterval = TimeSpan.FromMilliseconds(500) });
            }
            default:
                throw new ArgumentException($"Unknown backend '{Backend}'; use inproc, file, redis, redis-cluster, blob, etcd or postgres.");
        }
    }

    private static (string, string) Split2(string text)
    {
        var bar = text.IndexOf('|', StringComparison.Ordinal);
        return (text[..bar], text[(bar + 1)..]);
    }
}
