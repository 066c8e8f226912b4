using System.Globalization;
using System.Text;
using StackExchange.Redis;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>
/// The shared backend contract on a real Redis Cluster (3 masters, 3 replicas on loopback): the store's hash and its log
/// stream share a slot, the scripts are routed to that slot's master, and change messages published there reach
/// subscribers connected to other nodes. Child processes open the store through <see cref="Program"/>. Also the cluster's
/// own rules: today's key names kept, keys that cannot share a slot refused, and waiting for replicas.
/// </summary>
public sealed class RedisClusterContractTests : BackendContractTests, IClassFixture<RedisClusterFixture>
{
    private readonly RedisCluster _cluster;
    private readonly ConnectionMultiplexer _admin;

    public RedisClusterContractTests(RedisClusterFixture fixture)
    {
        _cluster = fixture.Cluster;
        _admin = ConnectionMultiplexer.Connect(_cluster.Configuration);
    }

    protected override IBackend Open(string store) => new RedisBackend(_cluster.Configuration, store);

    protected override bool DeduplicatesCommits => true;

    protected override System.Reflection.Assembly WorkerAssembly => typeof(RedisClusterContractTests).Assembly;

    protected override string WorkerStore(string store) => $"{_cluster.Configuration}|{store}";

    // The single-server classes run the 8 × 250 case already; here it shows the same progress on a cluster, faster.
    protected override int ContendedIncrements => 60;

    [Fact]
    public void AStoreInTodaysLayout_WrittenWithoutTheBackend_IsReadAndAppendedToUnderItsOwnKeyNames()
    {
        // Golden: the names and fields of layout 2 as docs/redis-backend.md gives them, written with plain commands.
        var name = NewStore();
        var (hash, log) = ("tosc:" + name, "{tosc:" + name + "}:log");
        var (snapshotId, recordId) = (Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"));
        var db = _admin.GetDatabase();
        db.HashSet(hash, [new("tosc", "2"), new("version", "2000"), new("snapshot", "1000"), new("data", "snap"), new("commit", snapshotId),
            new("n", "1"), new("bytes", "2"), new("sn", "0"), new("sbytes", "0"), new("seq", "2"),
            new("s:1", snapshotId), new("c:" + snapshotId, "1000"), new("s:2", recordId), new("c:" + recordId, "2000")]);
        db.StreamAdd(log, [new("c", recordId), new("n", "1"), new("b", "2"), new("d", "r1")], "2000-0");

        using var backend = new RedisBackend(_cluster.Configuration, name);

        Assert.Equal((hash, log), (backend.Key, backend.LogKey));
        var read = backend.Read()!;
        Assert.Equal((2000L, "snap", 1000L), (read.Version, Text(read.Data), read.SnapshotVersion));
        Assert.Equal(["r1"], read.Log.Select(r => Text(r.Data)));
        var appended = backend.TryAppend(Encoding.UTF8.GetBytes("r2"), 2000, Guid.NewGuid())!.Value;
        Assert.Equal((2, 4L), (appended.Records, appended.Bytes));
        Assert.Equal(2, db.StreamLength(log));
        Assert.Equal(appended.Version.ToString(CultureInfo.InvariantCulture), (string?)db.HashGet(hash, "version"));
    }

    [Fact]
    public async Task AChangeMessage_PublishedOnTheKeysMaster_WakesAWaiterSubscribedOnAnotherMaster_WithoutThePoll()
    {
        // A store whose change channel hashes to another master than its key: the message must cross the cluster bus.
        string store;
        do
            store = NewStore();
        while (_cluster.MasterOf(_cluster.SlotOf($"tosc:{store}")) == _cluster.MasterOf(_cluster.SlotOf($"tosc:{store}:changes:0")));
        using var waiter = new RedisBackend(_cluster.Configuration, store, new RedisBackendOptions { PollInterval = TimeSpan.FromHours(1) });
        using var writer = new RedisBackend(_cluster.Configuration, store);
        var first = writer.Write(Encoding.UTF8.GetBytes("1"), Guid.NewGuid());
        Assert.Equal(first, await Eventually.Within(waiter.WaitForChangeAsync(null, TimeSpan.FromHours(1)).AsTask(), "the first wait (it subscribes)"));

        async Task<long?> WaitUntilMoved()
        {
            long? current = first;
            while (current == first) // a spurious wake-up may return the known version; only the message can end it
                current = await waiter.WaitForChangeAsync(first, TimeSpan.FromHours(1));
            return current;
        }

        var waiting = WaitUntilMoved();
        var second = writer.Write(Encoding.UTF8.GetBytes("2"), Guid.NewGuid());

        Assert.Equal(second, await Eventually.Within(waiting, "a wait woken by the change message alone", PromptDeadline));
    }

    [Fact]
    public void AnAclUser_WithTheSingleServerRules_PlusClusterNodesAndWait_CommitsWithWaitForReplicas()
    {
        // ACL users are per node in a cluster: every node gets the same one.
        var user = $"app{Guid.NewGuid():N}"[..12];
        foreach (var node in _cluster.Nodes)
            Assert.Equal("OK", _cluster.Cli(node, ["ACL", "SETUSER", user, "on", ">pw", "resetkeys", "resetchannels", .. RedisBackendTests.RestrictedAcl.Split(' '), "+cluster|nodes", "+wait"]).Trim());
        using var backend = new RedisBackend($"{_cluster.Configuration},user={user},password=pw", NewStore(), new RedisBackendOptions { WaitForReplicas = 1 });
        using var manager = new Manager(backend);
        var counter = manager.ReadOrInitialize(() => new ContractCounter());

        manager.Run(() => counter.Value = 3);

        Assert.Equal(manager.Version?.ToString(CultureInfo.InvariantCulture), (string?)ReadOnReplica(backend.Key, "version"));
    }

    [Theory]
    [InlineData("a}b")]
    [InlineData("a{}b")]
    public void AKeyWithABraceButNoHashTag_IsRefusedOnACluster_NamingTheFix(string key)
    {
        var refused = Assert.Throws<ArgumentException>(() => new RedisBackend(_cluster.Configuration, key));

        Assert.Equal("key", refused.ParamName);
        Assert.Contains("hash tag", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"tosc:{key}", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AKeyWithItsOwnHashTag_KeepsItForTheLog_AndWorksOnACluster()
    {
        using var backend = new RedisBackend(_cluster.Configuration, $"{{app-{Guid.NewGuid():N}}}:orders");

        Assert.Equal(backend.Key + ":log", backend.LogKey);
        var version = backend.TryWrite(Encoding.UTF8.GetBytes("s"), null, Guid.NewGuid())!.Value;
        Assert.NotNull(backend.TryAppend(Encoding.UTF8.GetBytes("r"), version, Guid.NewGuid()));
        Assert.Equal(["r"], backend.Read()!.Log.Select(r => Text(r.Data)));
    }

    [Fact]
    public void ADatabaseOtherThanZero_IsRefusedOnACluster()
    {
        var refused = Assert.Throws<ArgumentException>(() => new RedisBackend(_cluster.Configuration, NewStore(), new RedisBackendOptions { Database = 1 }));

        Assert.Contains("RedisBackendOptions.Database", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForReplicas_ACommitReturns_OnlyOnceTheReplicaHasIt()
    {
        var store = NewStore();
        using var backend = new RedisBackend(_cluster.Configuration, store, new RedisBackendOptions { WaitForReplicas = 1 });
        await using var manager = new Manager(backend);
        var counter = manager.ReadOrInitialize(() => new ContractCounter());

        manager.Run(() => counter.Value = 7);
        Assert.Equal(manager.Version?.ToString(CultureInfo.InvariantCulture), (string?)ReadOnReplica(backend.Key, "version"));

        await manager.RunAsync(() =>
        {
            counter.Value = 8;
            return Task.CompletedTask;
        });
        Assert.Equal(manager.Version?.ToString(CultureInfo.InvariantCulture), (string?)ReadOnReplica(backend.Key, "version"));
    }

    private RedisValue ReadOnReplica(string key, string field) => _admin.GetDatabase().HashGet(key, field, CommandFlags.DemandReplica);

    [Fact]
    public void WaitForReplicas_MoreThanTheMasterHas_EndsACommitAsOutcomeUnknown_NotAsASuccess()
    {
        var store = NewStore();
        using (var initializer = new Manager(Open(store)))
            initializer.ReadOrInitialize(() => new ContractCounter());
        // One replica per master: two can never acknowledge.
        using var backend = new RedisBackend(_cluster.Configuration, store, new RedisBackendOptions { WaitForReplicas = 2, WaitForReplicasTimeout = TimeSpan.FromMilliseconds(100) });
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        var counter = manager.Read<ContractCounter>();

        var unknown = Assert.Throws<CommitOutcomeUnknownException>(() => manager.Run(() => counter.Value = 1));

        Assert.Contains("RedisBackendOptions.WaitForReplicas", unknown.ToString(), StringComparison.Ordinal);
        // In doubt, not lost: the master and its one replica hold it, short of the two asked for.
        using var plain = new Manager(Open(store), new ManagerOptions { WatchForChanges = false });
        Assert.Equal(1, plain.Read<ContractCounter>().Value);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            _admin.Dispose();
    }
}
