using System.Globalization;
using System.Runtime.CompilerServices;
using StackExchange.Redis;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>
/// An append sends its record with its change message (docs/wire-format.md), so watching managers apply it without
/// reading the log; a record too large to send (announced the way earlier releases announce
/// every append) and a whole-state write are read from the store as before. This class has a server of its own: its command counts are this class's alone.
/// </summary>
public sealed class RedisPushedRecordsTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>, IDisposable
{
    private readonly ConnectionMultiplexer _admin = ConnectionMultiplexer.Connect(fixture.Server.Configuration + ",allowAdmin=true"); // INFO needs admin mode on StackExchange.Redis 3

    public void Dispose() => _admin.Dispose();

    [Fact]
    public void AWatchingManager_AppliesPushedRecords_WithoutReadingTheLog()
    {
        var (writer, watcher, counter, followed) = Pair(Me());

        var reads = LogReads();
        for (var i = 1; i <= 20; i++)
        {
            writer.Run(() =>
            {
                counter.Value++;
                counter.Journal.Add($"w{counter.Value}");
            });
            Eventually.True(() => followed.Value == i, $"the watcher applying commit {i} (it shows {followed.Value})");
        }

        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"w{i}"), followed.Journal);
        Assert.Equal(0, LogReads() - reads);
        Dispose(writer, watcher);
    }

    [Fact]
    public void ARecordTooLargeToPush_AWholeStateWrite_AndAForeignMessage_AreReadFromTheStore()
    {
        var key = Me();
        var (writer, watcher, counter, followed) = Pair(key);
        var reads = LogReads();

        writer.Run(() => counter.Journal.Add(new string('x', RedisStoreScript.PushLimit + 1)));
        Eventually.True(() => followed.Journal.Count == 1, "the watcher applying the large record");
        Assert.True(LogReads() > reads, "the large record was read from the log");

        writer.Write(new ContractCounter { Value = 41, Journal = { "whole" } });
        Eventually.True(() => watcher.Read<ContractCounter>().Value == 41, "the watcher reading the whole state written");
        counter = writer.Read<ContractCounter>();
        followed = watcher.Read<ContractCounter>();

        writer.Run(() => counter.Value++); // pushed again: it follows the whole state the watcher read
        Eventually.True(() => followed.Value == 42, "the watcher applying the record after the whole state");

        // A message on the channel that is not Tosc's (or that this release cannot read) only wakes the watcher.
        var channel = RedisChannel.Literal($"{((RedisBackend)writer.Backend).Key}:changes:0");
        _admin.GetSubscriber().Publish(channel, "not a change message");
        writer.Run(() => counter.Value++);
        Eventually.True(() => followed.Value == 43, "the watcher applying a record after a foreign message");
        Assert.Equal(["whole"], followed.Journal);
        Dispose(writer, watcher);
    }

    [Fact]
    public void ManagersSharingOneBackend_SeeEachOthersCommits_ByNotificationAlone()
    {
        // No safety-net poll within the test: only the change messages (and the instance's own signal) can tell the
        // watching manager. Its wake-up at the local commit may come before the record's message; the message must
        // then wake it again.
        using var backend = new RedisBackend(fixture.Server.Configuration, Me(), new RedisBackendOptions { PollInterval = TimeSpan.FromHours(1) });
        using var writer = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        using var watcher = new Manager(backend);
        var counter = writer.ReadOrInitialize(() => new ContractCounter());
        var followed = watcher.Read<ContractCounter>();
        var channel = RedisChannel.Literal($"{backend.Key}:changes:0");
        Eventually.True(() => Subscribers(channel) >= 1, "the watcher subscribing");

        for (var i = 1; i <= 30; i++)
        {
            writer.Run(() => counter.Value++);
            Eventually.True(() => followed.Value == i, $"the watcher on the same backend applying commit {i} (it shows {followed.Value})", TimeSpan.FromSeconds(20));
        }
    }

    private (Manager Writer, Manager Watcher, ContractCounter Counter, ContractCounter Followed) Pair(string key)
    {
        var writer = new Manager(new RedisBackend(fixture.Server.Configuration, key), new ManagerOptions { WatchForChanges = false });
        var counter = writer.ReadOrInitialize(() => new ContractCounter());
        var watcher = new Manager(new RedisBackend(fixture.Server.Configuration, key));
        var followed = watcher.Read<ContractCounter>();
        // The watcher's subscription is made when its watcher starts: wait for it, so no message goes unheard.
        var channel = RedisChannel.Literal($"{((RedisBackend)watcher.Backend).Key}:changes:0");
        Eventually.True(() => Subscribers(channel) >= 1, "the watcher subscribing");
        return (writer, watcher, counter, followed);
    }

    private long Subscribers(RedisChannel channel) =>
        (long)((RedisResult[])_admin.GetDatabase().Execute("PUBSUB", "NUMSUB", channel.ToString())!)[1];

    /// <summary>XRANGE calls the server has run, the append script's own included (a commit at the expected version runs none).</summary>
    private long LogReads()
    {
        var stats = (string?)_admin.GetDatabase().Execute("INFO", "commandstats") ?? "";
        var line = stats.Split('\n').FirstOrDefault(l => l.StartsWith("cmdstat_xrange:", StringComparison.Ordinal));
        if (line is null)
            return 0;
        var calls = line.Split(':')[1].Split(',')[0];
        return long.Parse(calls.Split('=')[1], CultureInfo.InvariantCulture);
    }

    private static void Dispose(params Manager[] managers)
    {
        foreach (var manager in managers)
        {
            var backend = manager.Backend;
            manager.Dispose();
            ((IDisposable)backend).Dispose();
        }
    }

    private static string Me([CallerMemberName] string test = "") => $"{test}-{Guid.NewGuid():N}";
}
