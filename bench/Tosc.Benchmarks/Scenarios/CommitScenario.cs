using Tosc.Benchmarks.Harness;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>
/// Scenario 2: one writer committing a small value, per backend: the raw compare-and-swap by hand, the backend's
/// TryWrite alone, and a Tosc implicit commit (a property set on a live object) and Run transaction, interleaved.
/// </summary>
internal sealed class CommitScenario : IScenario
{
    public string Name => "commit";

    public string Title => "Commit throughput, one writer, small value: Tosc vs the backend's TryWrite vs the raw primitive";

    public ScenarioResult Run(Bench bench)
    {
        var result = new ScenarioResult(Name, Title);
        foreach (var kind in bench.BackendsWithCluster)
        {
            var env = bench.Environment;
            using var raw = RawPrimitive.For(kind, env, $"commit-raw-{Guid.NewGuid():N}");
            using var rawAppend = RawPrimitive.AppendFor(kind, env, $"commit-raw-append-{Guid.NewGuid():N}");
            using var backendStore = env.NewStore(kind, "commit-backend");
            using var toscStore = env.NewStore(kind, "commit-tosc");
            var payload = Graphs.Encode(new Doc());
            var backend = backendStore.Open();
            long? version = null;
            using var manager = new Manager(toscStore.Open());
            var doc = manager.ReadOrInitialize(() => new Doc());
            var value = 0L;
            List<(string, Action)> methods =
            [
                ("raw", () => raw.Commit(payload)),
                ("backend", () => version = backend.TryWrite(payload, version, Guid.NewGuid()) ?? throw new InvalidOperationException("conflict")),
                ("tosc", () => doc.Hits = ++value),
                ("tosc_run", () => manager.Run(() => doc.Hits++)),
            ];
            if (rawAppend is not null)
                methods.Add(("raw_append", () => rawAppend.Commit(payload)));
            var times = Measure.Interleaved(bench.Pick(5, 2), TimeSpan.FromMilliseconds(bench.Pick(1000, 120)), [.. methods]);
            var rawAppendUs = times.GetValueOrDefault("raw_append", double.NaN);
            var stored = toscStore.Open().Read()!.Data.Length;
            result.Add(new Row()
                .Add("backend", Bench.Name(kind))
                .Add("payload_B", stored)
                .Add("raw_us", times["raw"])
                .Add("backend_us", times["backend"])
                .Add("tosc_us", times["tosc"])
                .Add("tosc_run_us", times["tosc_run"])
                .Add("tosc_commits_per_s", 1e6 / times["tosc"])
                .Add("backend_per_raw", Measure.Ratio(times["backend"], times["raw"]))
                .Add("tosc_per_raw", Measure.Ratio(times["tosc"], times["raw"]))
                .Add("tosc_per_backend", Measure.Ratio(times["tosc"], times["backend"]))
                .Add("raw_append_us", rawAppendUs)
                .Add("tosc_per_raw_append", Measure.Ratio(times["tosc"], rawAppendUs)));
        }
        bench.NoteSkipped(result, ranOnCluster: true);
        result.Notes.Add("Times are microseconds per commit (median of interleaved rounds); ratios are time ratios (> 1: slower than the base).");
        result.Notes.Add("tosc: `doc.Hits = n` on a live object (an implicit transaction: encode, TryWrite, publish). tosc_run: `manager.Run(() => doc.Hits++)`.");
        result.Notes.Add("raw: inproc = lock + reference swap; file = flock on a lock file + read version + write temp + fsync + rename (no directory fsync); " +
            "redis = the backend's Lua CAS script by EVALSHA; blob = Put Blob with If-Match on the last ETag (Azure SDK client, retries off); " +
            "etcd = one Txn comparing a key's mod_revision with the last one written and putting the value (dotnet-etcd, gRPC retries off); " +
            "postgres = one `UPDATE ... WHERE key = $1 AND version = $2` setting the value and the next version (Npgsql, a pooled connection); " +
            "redis-cluster = the redis script by EVALSHA on the master of the key's slot (a key with a hash tag, as the Tosc stores' keys and logs have).");
        result.Notes.Add("raw_append (file): flock on a lock file + read the version from the file's last 8 bytes + append the value and the next version + fsync: " +
            "the hand-written log append a delta commit is compared with (tosc_per_raw_append). raw_append (etcd): one Txn comparing a head key's mod_revision, " +
            "putting a new log key and the head, as the backend's append does. raw_append (postgres): the same UPDATE setting only " +
            "the version and an INSERT of a log row, one statement (a data-modifying CTE), as the backend's append does without its counters and pg_notify.");
        return result;
    }
}
