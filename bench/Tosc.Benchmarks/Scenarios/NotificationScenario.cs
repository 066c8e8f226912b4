using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Npgsql;
using StackExchange.Redis;
using Tosc.Benchmarks.Harness;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>
/// Scenario 6: delay from a commit on one manager to the Changed event on another (same process, own backend
/// instance; and another process for file and Redis), next to the store's raw notification primitive.
/// </summary>
internal sealed class NotificationScenario : IScenario
{
    public string Name => "notify";

    public string Title => "Notification delay p50/p99: commit on one manager to Changed on another (same process, other process)";

    public ScenarioResult Run(Bench bench)
    {
        var result = new ScenarioResult(Name, Title);
        foreach (var kind in bench.Backends)
        {
            var samples = kind == BackendKind.Blob ? bench.Pick(60, 5) : bench.Pick(200, 15);
            var rawDelays = RawDelays(bench, kind, samples);
            var rawP50 = Measure.Median(rawDelays);
            if (rawDelays.Count > 0)
                AddRow(result, kind, RawDescription(kind), rawDelays, rawP50);
            var commits = new List<double>();
            AddRow(result, kind, "Tosc, other manager, same process", SameProcess(bench, kind, samples, commits), rawP50, commits);
            if (kind is not BackendKind.Inproc)
            {
                commits = [];
                AddRow(result, kind, "Tosc, other manager, other process (Changed, path-level)", OtherProcess(bench, kind, samples, commits, "changed"), rawP50, commits);
                commits = [];
                AddRow(result, kind, "Tosc, WatchAsync consumer, other process", OtherProcess(bench, kind, samples, commits, "watch"), rawP50, commits);
            }
            AddThroughput(result, bench, kind);
        }
        bench.NoteSkipped(result);
        result.Notes.Add("Path-level rows: the other process handles Changed (so each applied record is described path by path: `Hits`, old and new value) or consumes `WatchAsync`; the delay ends when it has the PathChange. events_per_s rows: one WatchAsync consumer in this process reading a backlog of commits (one dictionary key each) as fast as it can.");
        result.Notes.Add("Delay: from the start of the committing call (`doc.Hits = i`) to the Changed event on the other manager; one commit at a time, each waited for. Cross-process times use the shared monotonic clock. commit_p50_ms: the committing call itself (included in the delay).");
        result.Notes.Add("raw: inproc = a thread woken by a semaphore; file = write + fsync + rename seen by a FileSystemWatcher (inotify); redis = PUBLISH to a subscriber on another connection; etcd = a put seen by a watch on another client; postgres = pg_notify seen by a LISTEN on another connection. p50_per_raw compares medians.");
        result.Notes.Add($"Blob has no change notification: both Tosc and a hand-written poller see a change on their next conditional GET (every {Store.BlobPollInterval.TotalMilliseconds:0} ms here).");
        return result;
    }

    private static void AddRow(ScenarioResult result, BackendKind kind, string reader, List<double> delays, double rawP50, List<double>? commits = null)
    {
        var p50 = Measure.Median(delays);
        result.Add(new Row()
            .Add("backend", Bench.Name(kind))
            .Add("observer", reader)
            .Add("samples", delays.Count)
            .Add("p50_ms", p50)
            .Add("p99_ms", Measure.Percentile(delays, 99))
            .Add("p50_per_raw", Measure.Ratio(p50, rawP50))
            .Add("commit_p50_ms", commits is null ? double.NaN : Measure.Median(commits)));
    }

    private static string RawDescription(BackendKind kind) => kind switch
    {
        BackendKind.Inproc => "raw: semaphore wake-up",
        BackendKind.File => "raw: rename seen by inotify",
        BackendKind.Redis => "raw: PUBLISH to subscriber",
        BackendKind.Etcd => "raw: put seen by a watch",
        BackendKind.Postgres => "raw: pg_notify to LISTEN",
        _ => "raw",
    };

    private static List<double> SameProcess(Bench bench, BackendKind kind, int samples, List<double> commits)
    {
        using var store = bench.Environment.NewStore(kind, "notify");
        using var writer = new Manager(store.Open());
        var doc = writer.ReadOrInitialize(() => new Doc());
        using var reader = new Manager(store.Open());
        reader.Read<Doc>();
        var seen = new ConcurrentDictionary<long, long>();
        using var signal = new SemaphoreSlim(0);
        reader.Changed += (_, e) =>
        {
            if (e.NewVersion is { } v)
                seen[v] = Stopwatch.GetTimestamp();
            signal.Release();
        };
        return Sample(samples, i =>
        {
            var start = Stopwatch.GetTimestamp();
            doc.Hits = i;
            if (i >= 0)
                commits.Add(Measure.MillisSince(start));
            var version = writer.Version!.Value;
            var clock = Stopwatch.StartNew();
            while (!seen.ContainsKey(version) && clock.Elapsed < TimeSpan.FromSeconds(10))
                signal.Wait(20);
            return seen.TryGetValue(version, out var at) ? Measure.MillisBetween(start, at) : double.NaN;
        });
    }

    private static List<double> OtherProcess(Bench bench, BackendKind kind, int samples, List<double> commits, string mode)
    {
        using var store = bench.Environment.NewStore(kind, "notify-process-" + mode);
        using var writer = new Manager(store.Open());
        var doc = writer.ReadOrInitialize(() => new Doc());
        using var worker = WorkerProcess.Start("notify", store.Spec, mode);
        worker.Expect("ready", TimeSpan.FromSeconds(60));
        return Sample(samples, i =>
        {
            var start = Stopwatch.GetTimestamp();
            doc.Hits = i;
            if (i >= 0)
                commits.Add(Measure.MillisSince(start));
            var version = writer.Version!.Value;
            var line = worker.Expect($"seen {version} ", TimeSpan.FromSeconds(10));
            return Measure.MillisBetween(start, long.Parse(line.Split(' ')[2], CultureInfo.InvariantCulture));
        });
    }

    /// <summary>
    /// The worker: <c>--worker notify SPEC changed|watch</c>; prints "seen VERSION TIMESTAMP PATH" per Changed event
    /// (or per WatchAsync change set) until its input closes.
    /// </summary>
    public static int Worker(string[] args)
    {
        using var store = Store.FromSpec(args[0]);
        using var manager = new Manager(store.Open(), new ManagerOptions { WatchForChanges = args[1] == "changed" });
        manager.Read<Doc>();
        var output = TextWriter.Synchronized(Console.Out);
        using var stop = new CancellationTokenSource();
        Task? watching = null;
        if (args[1] == "changed")
        {
            manager.Changed += (_, e) => output.WriteLine($"seen {e.NewVersion} {Stopwatch.GetTimestamp()} {e.Changes.FirstOrDefault()?.Path}");
        }
        else
        {
            watching = Task.Run(async () =>
            {
                await foreach (var set in manager.WatchAsync(manager.Version, stop.Token))
                    output.WriteLine($"seen {set.Version} {Stopwatch.GetTimestamp()} {set.Changes.FirstOrDefault()?.Path}");
            });
        }
        output.WriteLine("ready");
        while (Console.ReadLine() is not null)
        {
        }
        stop.Cancel();
        return 0;
    }

    /// <summary>How many change sets per second one WatchAsync consumer reads from a backlog of commits.</summary>
    private static void AddThroughput(ScenarioResult result, Bench bench, BackendKind kind)
    {
        var commits = kind == BackendKind.Blob ? bench.Pick(200, 20) : bench.Pick(2000, 100);
        using var store = bench.Environment.NewStore(kind, "notify-throughput");
        using var writer = new Manager(store.Open(), new ManagerOptions { WatchForChanges = false, CompactAfterRecords = commits * 2 });
        var doc = writer.ReadOrInitialize(() => new Doc());
        var start = writer.Version;
        for (var i = 0; i < commits; i++)
            doc.Counters[$"k{i % 100}"] = i;
        using var reader = new Manager(store.Open(), new ManagerOptions { WatchForChanges = false });
        reader.Read<Doc>();
        var clock = Stopwatch.StartNew();
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var enumerator = reader.WatchAsync(start, timeout.Token).GetAsyncEnumerator(timeout.Token);
        try
        {
            while (read < commits && enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                read++;
        }
        finally
        {
            enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        result.Add(new Row()
            .Add("backend", Bench.Name(kind))
            .Add("observer", "WatchAsync backlog: events_per_s")
            .Add("samples", read)
            .Add("p50_ms", read / clock.Elapsed.TotalSeconds)
            .Add("p99_ms", double.NaN)
            .Add("p50_per_raw", double.NaN)
            .Add("commit_p50_ms", double.NaN));
    }

    private static List<double> RawDelays(Bench bench, BackendKind kind, int samples)
    {
        switch (kind)
        {
            case BackendKind.Inproc:
            {
                using var wake = new SemaphoreSlim(0);
                using var done = new SemaphoreSlim(0);
                long woke = 0;
                var waiter = new Thread(() =>
                {
                    while (true)
                    {
                        wake.Wait();
                        Volatile.Write(ref woke, Stopwatch.GetTimestamp());
                        done.Release();
                    }
                }) { IsBackground = true };
                waiter.Start();
                return Sample(samples, _ =>
                {
                    var start = Stopwatch.GetTimestamp();
                    wake.Release();
                    done.Wait();
                    return Measure.MillisBetween(start, Volatile.Read(ref woke));
                });
            }
            case BackendKind.File:
            {
                var name = $"notify-raw-{Guid.NewGuid():N}";
                using var raw = RawPrimitive.For(kind, bench.Environment, name);
                var seen = new BlockingCollection<long>();
                using var watcher = new FileSystemWatcher(bench.Environment.FileDirectory, name + ".raw") { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite };
                watcher.Renamed += (_, _) => seen.Add(Stopwatch.GetTimestamp());
                watcher.Created += (_, _) => seen.Add(Stopwatch.GetTimestamp());
                watcher.EnableRaisingEvents = true;
                var payload = Graphs.Encode(new Doc());
                return Sample(samples, _ =>
                {
                    while (seen.TryTake(out long _))
                    {
                    }
                    var start = Stopwatch.GetTimestamp();
                    raw.Commit(payload);
                    return seen.TryTake(out var at, TimeSpan.FromSeconds(10)) ? Measure.MillisBetween(start, at) : double.NaN;
                });
            }
            case BackendKind.Redis:
            {
                using var publisher = ConnectionMultiplexer.Connect(bench.Environment.Redis!.Configuration);
                using var subscriber = ConnectionMultiplexer.Connect(bench.Environment.Redis!.Configuration);
                var channel = new RedisChannel($"raw-{Guid.NewGuid():N}", RedisChannel.PatternMode.Literal);
                var seen = new BlockingCollection<long>();
                subscriber.GetSubscriber().Subscribe(channel, (_, _) => seen.Add(Stopwatch.GetTimestamp()));
                var database = publisher.GetDatabase();
                return Sample(samples, i =>
                {
                    var start = Stopwatch.GetTimestamp();
                    database.Publish(channel, i);
                    return seen.TryTake(out var at, TimeSpan.FromSeconds(10)) ? Measure.MillisBetween(start, at) : double.NaN;
                });
            }
            case BackendKind.Etcd:
                return EtcdWatchDelays(bench, samples);
            case BackendKind.Postgres:
                return PostgresNotifyDelays(bench, samples);
            default:
                return [];
        }
    }

    /// <summary>A put on one client until a watch on another client reports it.</summary>
    private static List<double> EtcdWatchDelays(Bench bench, int samples)
    {
        using var writer = new EtcdClient(bench.Environment.Etcd!.Endpoint, configureChannelOptions: EtcdBackend.ConfigureChannel);
        using var watcher = new EtcdClient(bench.Environment.Etcd!.Endpoint, configureChannelOptions: EtcdBackend.ConfigureChannel);
        var key = ByteString.CopyFromUtf8($"raw-watch/{Guid.NewGuid():N}");
        var seen = new BlockingCollection<long>();
        using var stop = new CancellationTokenSource();
        using var call = watcher.GetConnection().WatchClient.Watch(cancellationToken: stop.Token);
        call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = key } }).GetAwaiter().GetResult();
        var created = new ManualResetEventSlim();
        var reading = Task.Run(async () =>
        {
            try
            {
                while (await call.ResponseStream.MoveNext(stop.Token).ConfigureAwait(false))
                {
                    if (call.ResponseStream.Current.Created)
                        created.Set();
                    foreach (var _ in call.ResponseStream.Current.Events)
                        seen.Add(Stopwatch.GetTimestamp());
                }
            }
            catch (Exception e) when (e is OperationCanceledException or Grpc.Core.RpcException)
            {
                // Stopped at the end of the samples.
            }
        });
        created.Wait(TimeSpan.FromSeconds(10));
        var delays = Sample(samples, i =>
        {
            var start = Stopwatch.GetTimestamp();
            writer.Put(new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(i.ToString(CultureInfo.InvariantCulture)) });
            return seen.TryTake(out var at, TimeSpan.FromSeconds(10)) ? Measure.MillisBetween(start, at) : double.NaN;
        });
        stop.Cancel();
        reading.Wait(TimeSpan.FromSeconds(5));
        return delays;
    }

    /// <summary>A <c>pg_notify</c> on one connection until a LISTEN on another connection receives it.</summary>
    private static List<double> PostgresNotifyDelays(Bench bench, int samples)
    {
        using var dataSource = NpgsqlDataSource.Create(bench.Environment.Postgres!.ConnectionString);
        using var listener = dataSource.OpenConnection();
        var channel = $"raw_{Guid.NewGuid():N}";
        var seen = new BlockingCollection<long>();
        listener.Notification += (_, _) => seen.Add(Stopwatch.GetTimestamp());
        using (var listen = new NpgsqlCommand($"LISTEN {channel}", listener))
            listen.ExecuteNonQuery();
        var stop = false;
        var reading = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
                listener.Wait(TimeSpan.FromMilliseconds(100));
        }) { IsBackground = true };
        reading.Start();
        var delays = Sample(samples, i =>
        {
            using var notify = dataSource.CreateCommand("SELECT pg_notify($1, $2)");
            notify.Parameters.Add(new NpgsqlParameter { Value = channel });
            notify.Parameters.Add(new NpgsqlParameter { Value = i.ToString(CultureInfo.InvariantCulture) });
            var start = Stopwatch.GetTimestamp();
            notify.ExecuteNonQuery();
            return seen.TryTake(out var at, TimeSpan.FromSeconds(10)) ? Measure.MillisBetween(start, at) : double.NaN;
        });
        Volatile.Write(ref stop, true);
        reading.Join(TimeSpan.FromSeconds(5));
        return delays;
    }

    /// <summary>Runs one measurement per sample after a short untimed warm-up, with a small random pause between them.</summary>
    private static List<double> Sample(int samples, Func<int, double> measure)
    {
        for (var i = 0; i < 3; i++)
            measure(-1 - i);
        var delays = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            var delay = measure(i);
            if (!double.IsNaN(delay))
                delays.Add(delay);
            Thread.Sleep(Random.Shared.Next(1, 5));
        }
        return delays;
    }
}
