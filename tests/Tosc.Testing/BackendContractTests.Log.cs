using Xunit;

namespace Tosc.Testing;

/// <summary>
/// The operation-log capability (<see cref="ToscBackend.SupportsLog"/>): appends under the version check, reads from a
/// version, compaction. A backend without the capability must say so and refuse the calls.
/// </summary>
public abstract partial class BackendContractTests
{
    [Fact]
    public void Log_WhenNotSupported_IsRefusedClearly()
    {
        if (Client(NewStore()) is not ToscBackend backend || backend.SupportsLog)
            return;
        Assert.Throws<NotSupportedException>(() => backend.ReadLog(null));
        Assert.Throws<NotSupportedException>(() => backend.TryAppend(Bytes("r"), 1, Guid.NewGuid()));
    }

    [Fact]
    public async Task Log_AppendsFollowTheSnapshot_AndEveryClientReadsThemFromAnyVersion()
    {
        var store = NewStore();
        if (LogClient(store) is not { } writer)
            return;
        var reader = LogClient(store)!;
        var snapshotId = Guid.NewGuid();
        var snapshot = writer.TryWrite(Bytes("snapshot"), null, snapshotId)!.Value;
        var ids = new[] { Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid() };

        var first = writer.TryAppend(Bytes("r1"), snapshot, ids[0])!.Value;
        var second = (await writer.TryAppendAsync(Bytes("r2"), first.Version, ids[1]))!.Value;
        var third = writer.TryAppend(Bytes("r3"), second.Version, ids[2])!.Value;

        Assert.True(first.Version > snapshot && second.Version > first.Version && third.Version > second.Version);
        Assert.Equal(3, third.Records);
        Assert.True(third.Bytes >= 6);
        var all = reader.ReadLog(null);
        Assert.Equal("snapshot", Text(all.Snapshot!.Data));
        Assert.Equal(snapshotId, all.Snapshot.CommitId);
        Assert.Equal(["r1", "r2", "r3"], all.Records.Select(r => Text(r.Data)));
        Assert.Equal(ids, all.Records.Select(r => r.CommitId));
        Assert.Equal(third.Version, all.Version);

        var tail = await reader.ReadLogAsync(first.Version);
        Assert.Null(tail.Snapshot);
        Assert.Equal(["r2", "r3"], tail.Records.Select(r => Text(r.Data)));
        var none = reader.ReadLog(third.Version);
        Assert.Null(none.Snapshot);
        Assert.Empty(none.Records);
        Assert.Equal(third.Version, none.Version);

        Assert.Equal(third.Version, reader.ReadVersion());
        var whole = reader.Read()!;
        Assert.Equal(third.Version, whole.Version);
        Assert.Equal(ids[2], whole.CommitId);
        Assert.Equal(snapshot, whole.SnapshotVersion);
        Assert.Equal(3, whole.Log.Count);
    }

    [Fact]
    public void Log_AppendAtAStaleVersion_ReturnsNullAndLeavesTheLogAlone()
    {
        var store = NewStore();
        if (LogClient(store) is not { } a)
            return;
        var b = LogClient(store)!;
        var snapshot = a.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        var won = a.TryAppend(Bytes("a"), snapshot, Guid.NewGuid())!.Value;

        Assert.Null(b.TryAppend(Bytes("b"), snapshot, Guid.NewGuid()));
        Assert.Equal(["a"], b.ReadLog(null).Records.Select(r => Text(r.Data)));
        Assert.Equal(won.Version, b.ReadVersion());
    }

    [Fact]
    public async Task Log_WhenTwoClientsRaceToAppend_ExactlyOneWinsEveryRound()
    {
        var store = NewStore();
        if (LogClient(store) is not { } a)
            return;
        var b = LogClient(store)!;
        var version = a.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        for (var round = 0; round < RaceRounds; round++)
        {
            using var start = new Barrier(2);
            Appended? Append(ToscBackend client, string text)
            {
                start.SignalAndWait();
                return client.TryAppend(Bytes(text), version, Guid.NewGuid());
            }
            var results = await Task.WhenAll(Task.Run(() => Append(a, "a")), Task.Run(() => Append(b, "b")));
            var winners = results.Where(r => r is not null).ToList();
            Assert.Single(winners);
            version = winners[0]!.Value.Version;
        }
        Assert.Equal(RaceRounds, a.ReadLog(null).Records.Count);
    }

    [Fact]
    public void Log_Compaction_ReplacesTheSnapshotKeepsLaterRecordsAndChangesNoVersion()
    {
        var store = NewStore();
        if (LogClient(store) is not { } writer)
            return;
        var reader = LogClient(store)!;
        var version = writer.TryWrite(Bytes("s0"), null, Guid.NewGuid())!.Value;
        var appended = new List<Appended>();
        for (var i = 1; i <= 4; i++)
        {
            appended.Add(writer.TryAppend(Bytes($"r{i}"), version, Guid.NewGuid())!.Value);
            version = appended[^1].Version;
        }
        var secondId = reader.ReadLog(null).Records[1].CommitId;

        Assert.True(writer.TryCompact(Bytes("s2"), appended[1].Version));

        var all = reader.ReadLog(null);
        Assert.Equal("s2", Text(all.Snapshot!.Data));
        Assert.Equal(appended[1].Version, all.Snapshot.Version);
        Assert.Equal(secondId, all.Snapshot.CommitId);
        Assert.Equal(["r3", "r4"], all.Records.Select(r => Text(r.Data)));
        Assert.Equal(version, reader.ReadVersion());
        // A reader that was at the first record can no longer continue from the log: it gets the snapshot.
        var behind = reader.ReadLog(appended[0].Version);
        Assert.Equal("s2", Text(behind.Snapshot!.Data));
        // A reader at a version the log still holds continues from it.
        Assert.Equal(["r4"], reader.ReadLog(appended[2].Version).Records.Select(r => Text(r.Data)));
        // Compacting again at the same or an older version does nothing; appends carry on.
        Assert.False(reader.TryCompact(Bytes("old"), appended[0].Version));
        Assert.False(reader.TryCompact(Bytes("same"), appended[1].Version));
        Assert.NotNull(reader.TryAppend(Bytes("r5"), version, Guid.NewGuid()));
        Assert.Equal("s2", Text(reader.ReadLog(null).Snapshot!.Data));
        Assert.Equal(4, reader.TryAppend(Bytes("r6"), reader.ReadVersion()!.Value, Guid.NewGuid())!.Value.Records); // r3 to r6
    }

    [Fact]
    public void Log_AWholeStateWrite_ReplacesSnapshotAndLog()
    {
        var store = NewStore();
        if (LogClient(store) is not { } writer)
            return;
        var version = writer.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        version = writer.TryAppend(Bytes("r1"), version, Guid.NewGuid())!.Value.Version;

        var rewritten = writer.TryWrite(Bytes("whole"), version, Guid.NewGuid())!.Value;

        var all = LogClient(store)!.ReadLog(null);
        Assert.Equal("whole", Text(all.Snapshot!.Data));
        Assert.Empty(all.Records);
        Assert.True(rewritten > version);
        Assert.False(writer.TryCompact(Bytes("late"), version)); // the record it would cover is gone
        Assert.Equal("whole", Text(writer.ReadLog(null).Snapshot!.Data));
    }

    [Fact]
    public async Task Log_AnAppendByAnotherClient_WakesAWaiter()
    {
        var store = NewStore();
        if (LogClient(store) is not { } writer)
            return;
        var waiter = LogClient(store)!;
        var version = writer.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        var wait = waiter.WaitForChangeAsync(version, TimeSpan.FromMinutes(5)).AsTask();

        var appended = writer.TryAppend(Bytes("r"), version, Guid.NewGuid())!.Value;

        Assert.Equal(appended.Version, await Eventually.Within(wait, "the waiter seeing the append", PromptDeadline));
    }

    [Fact]
    public void Managers_WithDeltaCommits_ApplyEachOthersRecordsAndSurviveCompaction()
    {
        var store = NewStore();
        if (LogClient(store) is null)
            return;
        var options = new ManagerOptions { CompactAfterRecords = 5 };
        using var a = new Manager(Client(store), options);
        using var b = new Manager(Client(store), options);
        var counter = a.ReadOrInitialize(() => new ContractCounter());
        var followed = b.Read<ContractCounter>();

        for (var i = 0; i < 12; i++)
            a.Run(() => counter.Journal.Add($"a-{i}"));
        b.Run(() => followed.Value = 7);

        Eventually.True(() => counter.Value == 7, "a applying b's record");
        Eventually.True(() => followed.Journal.Count == 12, "b applying a's records");
        var log = LogClient(store)!.ReadLog(null);
        Assert.True(log.Records.Count <= 5, $"the log holds {log.Records.Count} records after compaction at 5");
        using var fresh = new Manager(Client(store));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"a-{i}"), fresh.Read<ContractCounter>().Journal);
        Assert.Equal(7, fresh.Read<ContractCounter>().Value);
    }

    private ToscBackend? LogClient(string store) => Client(store) is ToscBackend { SupportsLog: true } log ? log : null;
}
