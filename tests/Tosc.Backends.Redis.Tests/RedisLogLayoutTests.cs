using System.Runtime.CompilerServices;
using System.Text;
using StackExchange.Redis;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>
/// The stored layout of the log (docs/redis-backend.md) and the upgrade from release 1: a store written in layout 1 is
/// read and converted, and release 1's own script refuses a converted store instead of misreading it.
/// </summary>
public sealed class RedisLogLayoutTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>, IDisposable
{
    private readonly ConnectionMultiplexer _admin = ConnectionMultiplexer.Connect(fixture.Server.Configuration);

    private RedisServer Server => fixture.Server;

    private IDatabase Db => _admin.GetDatabase();

    public void Dispose() => _admin.Dispose();

    [Fact]
    public void AStoreWrittenByRelease1_IsReadAsASnapshotWithAnEmptyLog_AndConvertedByTheFirstAppend()
    {
        using var backend = new RedisBackend(Server.Configuration, Me());
        var firstId = Guid.NewGuid();
        var first = Release1Write(backend.Key, "", "v1", firstId);

        var read = backend.Read()!;
        Assert.Equal((first, "v1", firstId, first), (read.Version, Text(read.Data), read.CommitId, read.SnapshotVersion));
        Assert.Empty(read.Log);
        Assert.Null(backend.ReadLog(first).Snapshot);
        Assert.Empty(backend.ReadLog(first).Records);
        Assert.False(backend.TryCompact(Bytes("nothing to compact"), first));
        Assert.Equal("1", (string?)Db.HashGet(backend.Key, "tosc"));

        var recordId = Guid.NewGuid();
        var appended = backend.TryAppend(Bytes("r1"), first, recordId)!.Value;

        Assert.Equal((1, 2L), (appended.Records, appended.Bytes));
        Assert.Equal("2", (string?)Db.HashGet(backend.Key, "tosc"));
        Assert.Equal(first.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)Db.HashGet(backend.Key, "snapshot"));
        Assert.Equal(RedisType.Stream, Db.KeyType(backend.LogKey));
        var converted = backend.Read()!;
        Assert.Equal((appended.Version, recordId, first, "v1"), (converted.Version, converted.CommitId, converted.SnapshotVersion, Text(converted.Data)));
        Assert.Equal(["r1"], converted.Log.Select(r => Text(r.Data)));
        Assert.Equal(appended.Version, backend.ReadVersion());
    }

    [Fact]
    public void Release1_MeetingAConvertedStore_RefusesItAsALayoutItCannotRead_AndLeavesItAlone()
    {
        using var backend = new RedisBackend(Server.Configuration, Me());
        var first = backend.TryWrite(Bytes("v1"), null, Guid.NewGuid())!.Value;
        Assert.Equal("1", (string?)Db.HashGet(backend.Key, "tosc")); // a whole-state write keeps layout 1: release 1 still reads it
        var second = Release1Write(backend.Key, first.ToString(System.Globalization.CultureInfo.InvariantCulture), "v2", Guid.NewGuid());
        backend.TryAppend(Bytes("r"), second, Guid.NewGuid());
        var before = Db.HashGetAll(backend.Key).OrderBy(e => (string?)e.Name, StringComparer.Ordinal).ToList();

        var refused = Assert.Throws<RedisServerException>(() => Release1Write(backend.Key, "*", "overwrite", Guid.NewGuid()));

        Assert.Contains("TOSC_FOREIGN format 2", refused.Message, StringComparison.Ordinal);
        // Release 1 reads with HMGET tosc version data commit and accepts marker '1' only; it reports any other
        // marker as "a Tosc store in a layout this version cannot read (marker '2'); upgrade Tosc.Backends.Redis".
        Assert.Equal("2", (string?)Db.HashGet(backend.Key, "tosc"));
        Assert.Equal(before, Db.HashGetAll(backend.Key).OrderBy(e => (string?)e.Name, StringComparer.Ordinal).ToList());
    }

    [Fact]
    public void Managers_UpgradingFromWholeStateCommits_KeepEveryCommit()
    {
        var key = Me();
        var wholeState = new ManagerOptions { DeltaCommits = false };
        using (var oldBackend = new RedisBackend(Server.Configuration, key))
        using (var old = new Manager(oldBackend, wholeState))
        {
            var counter = old.ReadOrInitialize(() => new ContractCounter());
            old.Run(() => counter.Journal.Add("whole-1"));
            old.Run(() => counter.Value = 1);
        }
        using var probe = new RedisBackend(Server.Configuration, key);
        Assert.Equal("1", (string?)Db.HashGet(probe.Key, "tosc"));

        using (var upgradedBackend = new RedisBackend(Server.Configuration, key))
        using (var upgraded = new Manager(upgradedBackend, new ManagerOptions { CompactAfterRecords = 3 }))
        {
            var counter = upgraded.Read<ContractCounter>();
            for (var i = 0; i < 5; i++)
                upgraded.Run(() => counter.Journal.Add($"delta-{i}"));
        }

        Assert.Equal("2", (string?)Db.HashGet(probe.Key, "tosc"));
        using var freshBackend = new RedisBackend(Server.Configuration, key);
        using var fresh = new Manager(freshBackend);
        var read = fresh.Read<ContractCounter>();
        Assert.Equal(1, read.Value);
        Assert.Equal(["whole-1", "delta-0", "delta-1", "delta-2", "delta-3", "delta-4"], read.Journal);
    }

    [Fact]
    public void Append_StoresOneStreamEntryPerRecord_WithItsVersionCommitIdAndRunningCounts()
    {
        using var backend = new RedisBackend(Server.Configuration, Me());
        var version = backend.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        var ids = new[] { Guid.NewGuid(), Guid.NewGuid() };
        var first = backend.TryAppend(Bytes("abc"), version, ids[0])!.Value;
        var second = backend.TryAppend(Bytes("de"), first.Version, ids[1])!.Value;

        var entries = Db.StreamRange(backend.LogKey);
        Assert.Equal([$"{first.Version}-0", $"{second.Version}-0"], entries.Select(e => (string?)e.Id));
        Assert.Equal(ids[1].ToString("N"), (string?)entries[1]["c"]);
        Assert.Equal(("2", "5", "de"), ((string?)entries[1]["n"], (string?)entries[1]["b"], (string?)entries[1]["d"]));
        Assert.Equal((2, 5L), (second.Records, second.Bytes));
        Assert.Equal(second.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)Db.HashGet(backend.Key, "version"));
        Assert.Equal(second.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)Db.HashGet(backend.Key, $"c:{ids[1]:N}"));

        Assert.True(backend.TryCompact(Bytes("s1"), first.Version));

        Assert.Equal([$"{second.Version}-0"], Db.StreamRange(backend.LogKey).Select(e => (string?)e.Id));
        Assert.Equal(ids[0].ToString("N"), (string?)Db.HashGet(backend.Key, "commit"));
        Assert.Equal((2, 3L), (backend.TryAppend(Bytes("f"), second.Version, Guid.NewGuid())!.Value is var after ? (after.Records, after.Bytes) : default));
    }

    [Fact]
    public void Append_RepeatedWithACommitIdItAlreadyApplied_ReturnsItsVersionAndAppendsNothing()
    {
        using var backend = new RedisBackend(Server.Configuration, Me());
        var version = backend.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        var id = Guid.NewGuid();
        var appended = backend.TryAppend(Bytes("once"), version, id)!.Value;

        var repeated = backend.TryAppend(Bytes("once"), version, id);

        Assert.Equal(appended, repeated);
        Assert.Equal(["once"], backend.ReadLog(null).Records.Select(r => Text(r.Data)));
    }

    [Fact]
    public void Append_ToAnEmptyStore_ReturnsNullAndCreatesNothing()
    {
        using var backend = new RedisBackend(Server.Configuration, Me());

        Assert.Null(backend.TryAppend(Bytes("r"), 1, Guid.NewGuid()));

        Assert.False(Db.KeyExists(backend.Key));
        Assert.False(Db.KeyExists(backend.LogKey));
    }

    [Fact]
    public void Append_WhenTheLogKeyHoldsSomethingElse_ThrowsToscDataExceptionAndChangesNothing()
    {
        using var backend = new RedisBackend(Server.Configuration, Me());
        var version = backend.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        version = backend.TryAppend(Bytes("r1"), version, Guid.NewGuid())!.Value.Version;
        Db.KeyDelete(backend.LogKey);
        Db.StringSet(backend.LogKey, "someone else's");
        var before = Db.HashGetAll(backend.Key).OrderBy(e => (string?)e.Name, StringComparer.Ordinal).ToList();

        var failure = Assert.Throws<ToscDataException>(() => backend.TryAppend(Bytes("r2"), version, Guid.NewGuid()));

        Assert.Contains(backend.LogKey, failure.Message, StringComparison.Ordinal);
        Assert.Equal(before, Db.HashGetAll(backend.Key).OrderBy(e => (string?)e.Name, StringComparer.Ordinal).ToList());
        Assert.Equal("someone else's", (string?)Db.StringGet(backend.LogKey));
    }

    [Fact]
    public void WholeStateWrite_OnAStoreWithALog_EmptiesItAndRestartsTheCounts()
    {
        using var backend = new RedisBackend(Server.Configuration, Me());
        var version = backend.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        version = backend.TryAppend(Bytes("r1"), version, Guid.NewGuid())!.Value.Version;
        version = backend.TryAppend(Bytes("r2"), version, Guid.NewGuid())!.Value.Version;

        version = backend.TryWrite(Bytes("whole"), version, Guid.NewGuid())!.Value;

        Assert.Equal("2", (string?)Db.HashGet(backend.Key, "tosc"));
        Assert.False(Db.KeyExists(backend.LogKey));
        var appended = backend.TryAppend(Bytes("r3"), version, Guid.NewGuid())!.Value;
        Assert.Equal((1, 2L), (appended.Records, appended.Bytes));
        Assert.Equal("whole", Text(backend.Read()!.Data));
        Assert.Equal(version, backend.Read()!.SnapshotVersion);
    }

    [Theory]
    [InlineData("tosc:orders", "{tosc:orders}:log", true)]
    [InlineData("tosc:{app}:orders", "tosc:{app}:orders:log", true)]
    [InlineData("tosc:{}:orders", "tosc:{}:orders:log", false)] // '}' without a tag: no name can share the slot
    [InlineData("tosc:a}b", "tosc:a}b:log", false)]
    public void LogKey_SharesTheHashsClusterSlotWhereANameCan(string key, string expected, bool sameSlot)
    {
        Assert.Equal(expected, RedisBackend.LogKeyOf(key));
        Assert.Equal(sameSlot, Slot(key) == Slot(expected));
    }

    /// <summary>Release 1's write script, verbatim (src/Tosc.Backends.Redis/RedisStoreScript.cs at 9dbfa07): the golden writer of layout 1.</summary>
    private const string Release1Script = """
        local key = KEYS[1]
        local state = redis.pcall('HMGET', key, 'tosc', 'version', 'c:' .. ARGV[3])
        if state.err then
          return redis.error_reply('TOSC_FOREIGN ' .. redis.call('TYPE', key).ok)
        end
        local current = state[2]
        if state[1] ~= '1' then
          if state[1] then
            return redis.error_reply('TOSC_FOREIGN format ' .. state[1])
          end
          if redis.call('EXISTS', key) == 1 then
            return redis.error_reply('TOSC_FOREIGN hash')
          end
          current = false
        end
        if state[3] then
          return state[3]
        end
        if ARGV[1] ~= '*' and (current or '') ~= ARGV[1] then
          return false
        end
        local time = redis.call('TIME')
        local version = tonumber(time[1]) * 1000000 + tonumber(time[2])
        if current then
          version = math.max(version, tonumber(current) + 1)
        end
        version = string.format('%.0f', version)
        local slot = 's:' .. (redis.call('HINCRBY', key, 'seq', 1) % 1000)
        local evicted = redis.call('HGET', key, slot)
        if evicted then
          redis.call('HDEL', key, 'c:' .. evicted)
        end
        redis.call('HSET', key, 'tosc', '1', 'version', version, 'data', ARGV[2], 'commit', ARGV[3],
          slot, ARGV[3], 'c:' .. ARGV[3], version)
        redis.call('PUBLISH', ARGV[4], version .. ' ' .. ARGV[3] .. ' ' .. ARGV[5])
        return version
        """;

    private long Release1Write(string key, string expected, string data, Guid commitId)
    {
        var result = Db.ScriptEvaluate(Release1Script, [key], [expected, Bytes(data), commitId.ToString("N"), key + ":changes:0", "release-1"]);
        return long.Parse((string)result!, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The cluster slot's hash input: the hash tag when the key has one, else the whole key (Redis cluster spec).</summary>
    private static string Slot(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
            return key;
        var close = key.IndexOf('}', open + 1);
        return close > open + 1 ? key[(open + 1)..close] : key;
    }

    private static string Me([CallerMemberName] string test = "") => $"{test}-{Guid.NewGuid():N}";

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(ReadOnlyMemory<byte> data) => Encoding.UTF8.GetString(data.Span);
}
