using System.Globalization;
using Azure.Storage.Blobs;
using Tosc.Testing;

namespace Tosc.Benchmarks.Harness;

internal enum BackendKind
{
    Inproc,
    File,
    Redis,
    Blob,
    Etcd,
    Postgres,

    /// <summary>The test kit's 3-master/3-replica Redis Cluster; only with <c>--backends redis-cluster</c> (issue 14).</summary>
    RedisCluster,
}

/// <summary>
/// One store (a file, a Redis key (on one server or a cluster), a blob, an etcd key, a PostgreSQL row, an in-process cell) that scenarios open backends on. Each
/// <see cref="Open"/> is a new backend instance, as another application would have (the in-process store
/// has one instance by nature). Disposing the store disposes every backend opened on it.
/// </summary>
internal sealed class Store : IDisposable
{
    /// <summary>How often the blob backend polls: its only change signal (the default, 2 s, would dominate every delay figure).</summary>
    public static readonly TimeSpan BlobPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly Func<IBackend> _open;
    private readonly List<IBackend> _opened = [];
    private readonly IBackend? _shared;

    private Store(BackendKind kind, string spec, Func<IBackend> open, IBackend? shared = null)
    {
        Kind = kind;
        Spec = spec;
        _open = open;
        _shared = shared;
    }

    public BackendKind Kind { get; }

    /// <summary>Everything a worker process needs to open this store (see <see cref="FromSpec"/>).</summary>
    public string Spec { get; }

    /// <summary>The file path, Redis key, or blob name (for raw primitives that use the same store).</summary>
    public string Location => Spec.Split('|')[^1];

    public IBackend Open()
    {
        if (_shared is not null)
            return _shared;
        var backend = _open();
        lock (_opened)
            _opened.Add(backend);
        return backend;
    }

    public static Store Create(BackendKind kind, BenchEnvironment environment, string name) => kind switch
    {
        BackendKind.Inproc => Inproc(),
        BackendKind.File => FromSpec($"file|{Path.Combine(environment.FileDirectory, name + ".tosc")}"),
        BackendKind.Redis => FromSpec($"redis|{environment.Redis!.Configuration}|{name}"),
        BackendKind.Blob => FromSpec($"blob|{environment.Azurite!.ConnectionString}|{BenchEnvironment.Container}|{name}"),
        BackendKind.Etcd => FromSpec($"etcd|{environment.Etcd!.Endpoint}|{name}"),
        BackendKind.Postgres => FromSpec($"postgres|{environment.Postgres!.ConnectionString}|{name}"),
        BackendKind.RedisCluster => FromSpec($"redis-cluster|{environment.RedisCluster!.Configuration}|{BenchEnvironment.ClusterKey(name)}"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static Store Inproc()
    {
        var backend = new InprocBackend();
        return new Store(BackendKind.Inproc, "inproc", () => backend, backend);
    }

    public static Store FromSpec(string spec)
    {
        var parts = spec.Split('|');
        return parts[0] switch
        {
            "inproc" => Inproc(),
            "file" => new Store(BackendKind.File, spec, () => new FileBackend(parts[1])),
            "redis" => new Store(BackendKind.Redis, spec, () => new RedisBackend(parts[1], parts[2])),
            "blob" => new Store(BackendKind.Blob, spec, () => new BlobBackend(parts[1], parts[2], parts[3],
                new BlobBackendOptions { PollInterval = BlobPollInterval, CreateContainerIfMissing = true })),
            "etcd" => new Store(BackendKind.Etcd, spec, () => new EtcdBackend(parts[1], parts[2])),
            "postgres" => new Store(BackendKind.Postgres, spec, () => new PostgresBackend(parts[1], parts[2])),
            "redis-cluster" => new Store(BackendKind.RedisCluster, spec, () => new RedisBackend(parts[1], parts[2])),
            _ => throw new ArgumentException($"Unknown store spec '{spec}'.", nameof(spec)),
        };
    }

    public void Dispose()
    {
        lock (_opened)
        {
            foreach (var backend in _opened)
                backend.Dispose();
            _opened.Clear();
        }
        _shared?.Dispose();
    }
}

/// <summary>
/// The servers and directories a run needs, started on demand and stopped at the end. A backend whose server
/// cannot start, or that fails a first write, is listed in <see cref="Skipped"/> with the reason.
/// </summary>
internal sealed class BenchEnvironment : IDisposable
{
    public const string Container = "toscbench";

    private int _names;

    private BenchEnvironment(string workDirectory)
    {
        WorkDirectory = workDirectory;
        FileDirectory = Directory.CreateDirectory(Path.Combine(workDirectory, "files")).FullName;
    }

    public string WorkDirectory { get; }

    public string FileDirectory { get; }

    public RedisServer? Redis { get; private set; }

    public AzuriteServer? Azurite { get; private set; }

    public EtcdServer? Etcd { get; private set; }

    public PostgresServer? Postgres { get; private set; }

    public RedisCluster? RedisCluster { get; private set; }

    /// <summary>What a run without --backends measures: every backend but Redis Cluster, which takes six servers.</summary>
    public static IReadOnlyList<BackendKind> Defaults { get; } = [.. Enum.GetValues<BackendKind>().Where(k => k != BackendKind.RedisCluster)];

    public List<BackendKind> Available { get; } = [];

    public Dictionary<BackendKind, string> Skipped { get; } = [];

    public static BenchEnvironment Start(IEnumerable<BackendKind> wanted)
    {
        var work = Path.Combine(Path.GetTempPath(), $"tosc-bench-{Environment.ProcessId}");
        var environment = new BenchEnvironment(Directory.CreateDirectory(work).FullName);
        foreach (var kind in wanted)
        {
            Console.Write($"backend {Name(kind)}: ");
            var reason = environment.Prepare(kind);
            if (reason is null)
            {
                environment.Available.Add(kind);
                Console.WriteLine("ready");
            }
            else
            {
                environment.Skipped[kind] = reason;
                Console.WriteLine($"skipped ({reason})");
            }
        }
        return environment;
    }

    /// <summary>An SDK client for one blob of the benchmark container, with the backend's client options (for the hand-written baselines).</summary>
    public BlobClient BlobClient(string name) =>
        new(Azurite!.ConnectionString, Container, name, BlobBackend.CreateClientOptions());

    public Store NewStore(BackendKind kind, string purpose) =>
        Store.Create(kind, this, string.Create(CultureInfo.InvariantCulture, $"{purpose}-{Interlocked.Increment(ref _names)}"));

    public static string Name(BackendKind kind) => kind == BackendKind.RedisCluster ? "redis-cluster" : kind.ToString().ToLowerInvariant();

    /// <summary>The backend named <paramref name="name"/> as --backends spells it (<see cref="Name"/>), case-insensitive.</summary>
    public static bool TryParse(string name, out BackendKind kind)
    {
        kind = Enum.GetValues<BackendKind>().FirstOrDefault(k => string.Equals(Name(k), name, StringComparison.OrdinalIgnoreCase), (BackendKind)(-1));
        return Enum.IsDefined(kind);
    }

    /// <summary>A cluster key with a hash tag (<c>bench:{name}</c>): the store's hash and its log stream share one slot.</summary>
    public static string ClusterKey(string name) => "bench:{" + name + "}";

    private string? Prepare(BackendKind kind)
    {
        try
        {
            string? reason = null;
            if (kind == BackendKind.Redis)
                Redis = RedisServer.Start(directory: Path.Combine(WorkDirectory, "redis")); // the test kit's launcher; a failure is the skip reason
            if (kind == BackendKind.Blob)
                Azurite = StartAzurite(out reason);
            if (kind == BackendKind.Etcd)
                Etcd = EtcdServer.Start(); // the test kit's launcher: one member, data in /dev/shm
            if (kind == BackendKind.Postgres)
                Postgres = PostgresServer.Start(); // the test kit's launcher: initdb into a temporary directory, fsync off
            if (kind == BackendKind.RedisCluster)
                RedisCluster = Tosc.Testing.RedisCluster.Start(); // the test kit's launcher: 3 masters, 3 replicas, waits until healthy
            if (reason is not null)
                return reason;
            // A first write and read through the backend: a half-finished backend is skipped, not a crash later.
            using var store = NewStore(kind, "probe");
            var backend = store.Open();
            var version = backend.TryWrite(new byte[] { 1, 2, 3 }, null, Guid.NewGuid());
            if (version is null || backend.Read()?.Version != version)
                return "the probe write was not read back";
            return null;
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    private AzuriteServer? StartAzurite(out string? reason)
    {
        reason = null;
        try
        {
            return AzuriteServer.Start(Path.Combine(WorkDirectory, "azurite"));
        }
        catch (InvalidOperationException e)
        {
            reason = e.Message;
            return null;
        }
    }

    public void Dispose()
    {
        Redis?.Dispose();
        Azurite?.Dispose();
        Etcd?.Dispose();
        Postgres?.Dispose();
        RedisCluster?.Dispose();
        // On Ctrl+C, scenario threads may still be writing files here: try a few times.
        for (var attempt = 0; attempt < 5 && Directory.Exists(WorkDirectory); attempt++)
        {
            try
            {
                Directory.Delete(WorkDirectory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(100);
            }
        }
    }
}
