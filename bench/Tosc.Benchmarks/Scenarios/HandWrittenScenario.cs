using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using System.Text.Json;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Npgsql;
using StackExchange.Redis;
using Tosc.Benchmarks.Harness;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>
/// Scenario 3: a one-field read-modify-write (Hits++) done the way a .NET developer would write it by hand
/// with System.Text.Json, next to Tosc doing the same through <c>manager.Run</c>, on a small and a 10 KB document.
/// </summary>
internal sealed class HandWrittenScenario : IScenario
{
    public string Name => "handwritten";

    public string Title => "One-field read-modify-write: hand-written (WATCH/MULTI/EXEC, locked file, ETag) + System.Text.Json vs Tosc";

    public ScenarioResult Run(Bench bench)
    {
        var result = new ScenarioResult(Name, Title);
        foreach (var kind in bench.Backends)
        {
            if (kind == BackendKind.Inproc)
                continue;
            foreach (var (label, products) in new[] { ("small", 0), ("10KB", 40) })
            {
                var initial = Graphs.Build(products);
                using var handWritten = HandWritten.For(kind, bench.Environment, initial);
                using var store = bench.Environment.NewStore(kind, "handwritten-tosc");
                using var manager = new Manager(store.Open());
                manager.Write(initial);
                var doc = manager.Read<Doc>();
                var times = Measure.Interleaved(
                    bench.Pick(5, 2),
                    TimeSpan.FromMilliseconds(bench.Pick(800, 120)),
                    ("hand", handWritten.Increment),
                    ("tosc", () => manager.Run(() => doc.Hits++)));
                result.Add(new Row()
                    .Add("backend", Bench.Name(kind))
                    .Add("document", label)
                    .Add("json_B", JsonSerializer.SerializeToUtf8Bytes(initial, Graphs.Json).Length)
                    .Add("tosc_B", Graphs.Encode(initial).Length)
                    .Add("hand_written", handWritten.Description)
                    .Add("hand_us", times["hand"])
                    .Add("tosc_us", times["tosc"])
                    .Add("tosc_per_hand", Measure.Ratio(times["tosc"], times["hand"])));
            }
        }
        bench.NoteSkipped(result);
        result.Notes.Add("Each op reads the state, increments one field and writes it back atomically (a conflict would retry). One writer, so no conflicts happen.");
        result.Notes.Add("Hand-written code keeps no cache: it reads and deserializes on every op. Tosc keeps the live graph and only encodes and compare-and-swaps.");
        result.Notes.Add("redis: StackExchange.Redis transaction with Condition.StringEqual (WATCH, GET, MULTI, SET, EXEC); file: lock file + read + deserialize + write temp + fsync + rename; blob: Get Blob + Put Blob with If-Match (the Azure SDK client, as the backend uses it); " +
            "etcd: Range + a Txn comparing the key's mod_revision with the one read and putting the new JSON (dotnet-etcd); " +
            "postgres: SELECT the JSON (jsonb) and its version + UPDATE ... WHERE key = $1 AND version = $2 (Npgsql, pooled connections).");
        return result;
    }
}

/// <summary>The hand-written read-modify-write of one field for one store kind.</summary>
internal abstract class HandWritten : IDisposable
{
    public abstract string Description { get; }

    public abstract void Increment();

    public virtual void Dispose()
    {
    }

    public static HandWritten For(BackendKind kind, BenchEnvironment environment, Doc initial) => kind switch
    {
        BackendKind.File => new FileJson(Path.Combine(environment.FileDirectory, $"hand-{Guid.NewGuid():N}.json"), initial),
        BackendKind.Redis => new RedisJson(environment.Redis!.Configuration, $"hand:{Guid.NewGuid():N}", initial),
        BackendKind.Blob => new BlobJson(environment.BlobClient($"hand-{Guid.NewGuid():N}.json"), initial),
        BackendKind.Etcd => new EtcdJson(environment.Etcd!.Endpoint, $"hand/{Guid.NewGuid():N}", initial),
        BackendKind.Postgres => new PostgresJson(environment.Postgres!.ConnectionString, $"hand-{Guid.NewGuid():N}", initial),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private sealed class RedisJson : HandWritten
    {
        private readonly ConnectionMultiplexer _connection;
        private readonly IDatabase _database;
        private readonly RedisKey _key;

        public RedisJson(string configuration, string key, Doc initial)
        {
            _connection = ConnectionMultiplexer.Connect(configuration);
            _database = _connection.GetDatabase();
            _key = key;
            _database.StringSet(_key, JsonSerializer.SerializeToUtf8Bytes(initial, Graphs.Json));
        }

        public override string Description => "WATCH/MULTI/EXEC";

        public override void Increment()
        {
            while (true)
            {
                var json = _database.StringGet(_key);
                var doc = JsonSerializer.Deserialize<Doc>((byte[])json!, Graphs.Json)!;
                doc.Hits++;
                var transaction = _database.CreateTransaction();
                transaction.AddCondition(Condition.StringEqual(_key, json));
                _ = transaction.StringSetAsync(_key, JsonSerializer.SerializeToUtf8Bytes(doc, Graphs.Json));
                if (transaction.Execute())
                    return;
            }
        }

        public override void Dispose() => _connection.Dispose();
    }

    private sealed class FileJson : HandWritten
    {
        private readonly string _path;

        public FileJson(string path, Doc initial)
        {
            _path = path;
            File.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(initial, Graphs.Json));
        }

        public override string Description => "lock + JSON + fsync + rename";

        public override void Increment()
        {
            using var held = new FileStream(_path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
            var doc = JsonSerializer.Deserialize<Doc>(File.ReadAllBytes(_path), Graphs.Json)!;
            doc.Hits++;
            var temp = _path + ".tmp";
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                JsonSerializer.Serialize(stream, doc, Graphs.Json);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, _path, overwrite: true);
        }
    }

    private sealed class BlobJson : HandWritten
    {
        private readonly BlobClient _client;

        public BlobJson(BlobClient client, Doc initial)
        {
            _client = client;
            Put(JsonSerializer.SerializeToUtf8Bytes(initial, Graphs.Json), null);
        }

        public override string Description => "GET + PUT If-Match";

        public override void Increment()
        {
            while (true)
            {
                var download = _client.DownloadContent().Value;
                var doc = download.Content.ToObjectFromJson<Doc>(Graphs.Json)!;
                doc.Hits++;
                if (Put(JsonSerializer.SerializeToUtf8Bytes(doc, Graphs.Json), download.Details.ETag))
                    return;
            }
        }

        private bool Put(byte[] body, ETag? etag)
        {
            try
            {
                _client.Upload(BinaryData.FromBytes(body), new BlobUploadOptions { Conditions = etag is null ? null : new BlobRequestConditions { IfMatch = etag } });
                return true;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                return false;
            }
        }
    }

    private sealed class EtcdJson : HandWritten
    {
        private readonly EtcdClient _client;
        private readonly ByteString _key;

        public EtcdJson(string endpoint, string key, Doc initial)
        {
            _client = new EtcdClient(endpoint, configureChannelOptions: EtcdBackend.ConfigureChannel);
            _key = ByteString.CopyFromUtf8(key);
            _client.Put(new PutRequest { Key = _key, Value = ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(initial, Graphs.Json)) });
        }

        public override string Description => "Range + Txn on mod_revision";

        public override void Increment()
        {
            while (true)
            {
                var read = _client.Get(new RangeRequest { Key = _key }).Kvs[0];
                var doc = JsonSerializer.Deserialize<Doc>(read.Value.Span, Graphs.Json)!;
                doc.Hits++;
                var txn = new TxnRequest
                {
                    Compare = { new Compare { Key = _key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = read.ModRevision } },
                    Success = { new RequestOp { RequestPut = new PutRequest { Key = _key, Value = ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(doc, Graphs.Json)) } } },
                };
                if (_client.Transaction(txn).Succeeded)
                    return;
            }
        }

        public override void Dispose() => _client.Dispose();
    }

    private sealed class PostgresJson : HandWritten
    {
        private readonly NpgsqlDataSource _dataSource;
        private readonly string _key;

        public PostgresJson(string connectionString, string key, Doc initial)
        {
            _dataSource = NpgsqlDataSource.Create(connectionString);
            _key = key;
            using (var create = _dataSource.CreateCommand("CREATE TABLE IF NOT EXISTS tosc_hand (key text PRIMARY KEY, version bigint NOT NULL, doc jsonb NOT NULL)"))
                create.ExecuteNonQuery();
            using var insert = _dataSource.CreateCommand("INSERT INTO tosc_hand (key, version, doc) VALUES ($1, 0, $2::jsonb)");
            insert.Parameters.Add(new NpgsqlParameter { Value = key });
            insert.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(initial, Graphs.Json) });
            insert.ExecuteNonQuery();
        }

        public override string Description => "SELECT + UPDATE on version";

        public override void Increment()
        {
            while (true)
            {
                long version;
                Doc doc;
                using (var read = _dataSource.CreateCommand("SELECT version, doc::text FROM tosc_hand WHERE key = $1"))
                {
                    read.Parameters.Add(new NpgsqlParameter { Value = _key });
                    using var reader = read.ExecuteReader();
                    reader.Read();
                    version = reader.GetInt64(0);
                    doc = JsonSerializer.Deserialize<Doc>(reader.GetString(1), Graphs.Json)!;
                }
                doc.Hits++;
                using var write = _dataSource.CreateCommand("UPDATE tosc_hand SET version = $2 + 1, doc = $3::jsonb WHERE key = $1 AND version = $2");
                write.Parameters.Add(new NpgsqlParameter { Value = _key });
                write.Parameters.Add(new NpgsqlParameter { Value = version });
                write.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(doc, Graphs.Json) });
                if (write.ExecuteNonQuery() == 1)
                    return;
            }
        }

        public override void Dispose() => _dataSource.Dispose();
    }
}
