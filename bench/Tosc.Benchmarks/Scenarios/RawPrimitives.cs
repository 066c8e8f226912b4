using System.Buffers.Binary;
using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Npgsql;
using StackExchange.Redis;
using Tosc.Benchmarks.Harness;

namespace Tosc.Benchmarks.Scenarios;

/// <summary>
/// The compare-and-swap each backend is built on, written by hand with nothing around it: the floor a
/// Tosc commit is compared with. Each instance owns its own store location and is the only writer.
/// </summary>
internal abstract class RawPrimitive : IDisposable
{
    /// <summary>Stores <paramref name="data"/> if the version is still the one this writer last stored.</summary>
    public abstract void Commit(byte[] data);

    public virtual void Dispose()
    {
    }

    public static RawPrimitive For(BackendKind kind, BenchEnvironment environment, string name) => kind switch
    {
        BackendKind.Inproc => new InprocRaw(),
        BackendKind.File => new FileRaw(Path.Combine(environment.FileDirectory, name + ".raw")),
        BackendKind.Redis => new RedisRaw(environment.Redis!.Configuration, "tosc:" + name),
        BackendKind.Blob => new BlobRaw(environment.BlobClient(name)),
        BackendKind.Etcd => new EtcdRaw(environment.Etcd!.Endpoint, name, append: false),
        BackendKind.Postgres => new PostgresRaw(environment.Postgres!.ConnectionString, name, append: false),
        BackendKind.RedisCluster => new RedisRaw(environment.RedisCluster!.Configuration, "tosc:{" + name + "}"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// The backend's native log append where it has one, else <see langword="null"/>: what a delta commit is
    /// compared with. File: an append + fsync loop (<see cref="FileAppendRaw"/>); etcd: a Txn putting a new key and the head;
    /// PostgreSQL: the version UPDATE and a log row INSERT in one statement.
    /// </summary>
    public static RawPrimitive? AppendFor(BackendKind kind, BenchEnvironment environment, string name) => kind switch
    {
        BackendKind.File => new FileAppendRaw(Path.Combine(environment.FileDirectory, name + ".raw")),
        BackendKind.Etcd => new EtcdRaw(environment.Etcd!.Endpoint, name, append: true),
        BackendKind.Postgres => new PostgresRaw(environment.Postgres!.ConnectionString, name, append: true),
        _ => null,
    };

    /// <summary>A lock and a reference swap.</summary>
    private sealed class InprocRaw : RawPrimitive
    {
        private readonly Lock _gate = new();
        private byte[]? _state;
        private long _version;

        public override void Commit(byte[] data)
        {
            var expected = Volatile.Read(ref _version);
            lock (_gate)
            {
                if (_version != expected)
                    throw new InvalidOperationException("conflict");
                _state = data;
                _version++;
            }
            GC.KeepAlive(_state);
        }
    }

    /// <summary>An exclusive lock file, the version read from the store file, a temporary file written and fsynced, a rename.</summary>
    private sealed class FileRaw(string path) : RawPrimitive
    {
        private readonly string _lockPath = path + ".lock";
        private readonly string _temp = path + ".tmp";
        private long _version;

        public override void Commit(byte[] data)
        {
            using var held = new FileStream(_lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
            long current = 0;
            if (File.Exists(path))
            {
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                Span<byte> header = stackalloc byte[8];
                RandomAccess.Read(handle, header, 0);
                current = BinaryPrimitives.ReadInt64LittleEndian(header);
            }
            if (current != _version)
                throw new InvalidOperationException("conflict");
            var next = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(next, current + 1);
            using (var temp = File.OpenHandle(_temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                RandomAccess.Write(temp, [next, data], 0);
                RandomAccess.FlushToDisk(temp);
            }
            File.Move(_temp, path, overwrite: true);
            _version = current + 1;
        }
    }

    /// <summary>
    /// An exclusive lock file, the version read from the last 8 bytes of the store file, one record (the data and the
    /// next version) appended, fsync: a hand-written version-checked log append.
    /// </summary>
    private sealed class FileAppendRaw(string path) : RawPrimitive
    {
        private readonly string _lockPath = path + ".lock";
        private long _version;

        public override void Commit(byte[] data)
        {
            using var held = new FileStream(_lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
            using var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            long current = 0;
            if (length >= 8)
            {
                Span<byte> last = stackalloc byte[8];
                RandomAccess.Read(handle, last, length - 8);
                current = BinaryPrimitives.ReadInt64LittleEndian(last);
            }
            if (current != _version)
                throw new InvalidOperationException("conflict");
            var next = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(next, current + 1);
            RandomAccess.Write(handle, [data, next], length);
            RandomAccess.FlushToDisk(handle);
            _version = current + 1;
        }
    }

    /// <summary>
    /// The Redis backend's own compare-and-swap Lua script, called by EVALSHA on a connection of its own; loaded on the
    /// server that serves the key (on a cluster, the master of its slot).
    /// </summary>
    private sealed class RedisRaw : RawPrimitive
    {
        private readonly ConnectionMultiplexer _connection;
        private readonly IDatabase _database;
        private readonly RedisKey[] _keys;
        private readonly string _channel;
        private readonly byte[] _sha;
        private string _expected = RedisStoreScript.NoVersion;

        public RedisRaw(string configuration, string key)
        {
            _connection = ConnectionMultiplexer.Connect(configuration);
            _database = _connection.GetDatabase();
            _keys = [key];
            _channel = key + ":changes:0";
            var server = _database.IdentifyEndpoint(key) ?? _connection.GetEndPoints()[0];
            _sha = _connection.GetServer(server).ScriptLoad(RedisStoreScript.Text);
        }

        public override void Commit(byte[] data)
        {
            var result = _database.ScriptEvaluate(_sha, _keys, [_expected, data, Guid.NewGuid().ToString("N"), _channel, "raw"]);
            _expected = (string?)result ?? throw new InvalidOperationException("conflict");
        }

        public override void Dispose() => _connection.Dispose();
    }

    /// <summary>Put Blob conditional on the ETag of the last put (If-None-Match: * for the first), with the same metadata, through the SDK client the backend uses.</summary>
    private sealed class BlobRaw(BlobClient client) : RawPrimitive
    {
        private ETag? _etag;
        private long _version;

        public override void Commit(byte[] data)
        {
            _version++;
            var upload = new BlobUploadOptions
            {
                Metadata = new Dictionary<string, string>
                {
                    [BlobBackend.MarkerKey] = BlobBackend.MarkerValue,
                    [BlobBackend.VersionKey] = _version.ToString(CultureInfo.InvariantCulture),
                    [BlobBackend.CommitKey] = Guid.NewGuid().ToString("N"),
                },
                Conditions = _etag is { } etag ? new BlobRequestConditions { IfMatch = etag } : new BlobRequestConditions { IfNoneMatch = ETag.All },
            };
            _etag = client.Upload(BinaryData.FromBytes(data), upload).Value.ETag;
        }
    }

    /// <summary>
    /// One etcd Txn: compare the key's <c>mod_revision</c> with the revision of this writer's last put (the key absent
    /// for the first), put the value; with <c>append</c>, put it under a new log key and put a small head key instead,
    /// the shape of the backend's delta commit. Through dotnet-etcd with the backend's channel settings (gRPC retries off).
    /// </summary>
    private sealed class EtcdRaw : RawPrimitive
    {
        private readonly EtcdClient _client;
        private readonly ByteString _key;
        private readonly string _name;
        private readonly bool _append;
        private long _revision;
        private long _seq;

        public EtcdRaw(string endpoint, string name, bool append)
        {
            _client = new EtcdClient(endpoint, configureChannelOptions: EtcdBackend.ConfigureChannel);
            _key = ByteString.CopyFromUtf8("raw/" + name);
            _name = name;
            _append = append;
        }

        public override void Commit(byte[] data)
        {
            var compare = _revision == 0
                ? new Compare { Key = _key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 }
                : new Compare { Key = _key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = _revision };
            var request = new TxnRequest { Compare = { compare } };
            if (_append)
            {
                var log = ByteString.CopyFromUtf8(string.Create(CultureInfo.InvariantCulture, $"raw/{_name}/log/{++_seq:x16}"));
                request.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = log, Value = ByteString.CopyFrom(data) } });
                request.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = _key, Value = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) } });
            }
            else
            {
                request.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = _key, Value = ByteString.CopyFrom(data) } });
            }
            var response = _client.Transaction(request, deadline: DateTime.UtcNow.AddSeconds(10));
            _revision = response.Succeeded ? response.Header.Revision : throw new InvalidOperationException("conflict");
        }

        public override void Dispose() => _client.Dispose();
    }

    /// <summary>
    /// One statement on a pooled Npgsql connection, as the backend runs its own: <c>UPDATE … WHERE key = $1 AND version = $2</c>
    /// setting the value and the next version; with <c>append</c>, that UPDATE setting only the version and the INSERT of a
    /// log row in one statement (a data-modifying CTE), the shape of the backend's delta commit without its counters and
    /// <c>pg_notify</c>.
    /// </summary>
    private sealed class PostgresRaw : RawPrimitive
    {
        private const string Update = "UPDATE tosc_raw_state SET version = $2 + 1, data = $3 WHERE key = $1 AND version = $2";
        private const string Append = """
            WITH moved AS (UPDATE tosc_raw_state SET version = $2 + 1 WHERE key = $1 AND version = $2 RETURNING version)
            INSERT INTO tosc_raw_log (key, version, record) SELECT $1, m.version, $3 FROM moved m
            """;

        private readonly NpgsqlDataSource _dataSource;
        private readonly string _key;
        private readonly bool _append;
        private long _version;

        public PostgresRaw(string connectionString, string key, bool append)
        {
            _dataSource = NpgsqlDataSource.Create(connectionString);
            _key = key;
            _append = append;
            using var create = _dataSource.CreateCommand("""
                CREATE TABLE IF NOT EXISTS tosc_raw_state (key text PRIMARY KEY, version bigint NOT NULL, data bytea NOT NULL);
                CREATE TABLE IF NOT EXISTS tosc_raw_log (key text NOT NULL, version bigint NOT NULL, record bytea NOT NULL, PRIMARY KEY (key, version));
                """);
            create.ExecuteNonQuery();
            using var insert = _dataSource.CreateCommand("INSERT INTO tosc_raw_state (key, version, data) VALUES ($1, 0, ''::bytea)");
            insert.Parameters.Add(new NpgsqlParameter { Value = key });
            insert.ExecuteNonQuery();
        }

        public override void Commit(byte[] data)
        {
            using var command = _dataSource.CreateCommand(_append ? Append : Update);
            command.Parameters.Add(new NpgsqlParameter { Value = _key });
            command.Parameters.Add(new NpgsqlParameter { Value = _version });
            command.Parameters.Add(new NpgsqlParameter { Value = data });
            if (command.ExecuteNonQuery() != 1)
                throw new InvalidOperationException("conflict");
            _version++;
        }

        public override void Dispose() => _dataSource.Dispose();
    }
}
