using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Core;

/// <summary>
/// Delta commits (issue 11): a commit appends what the transaction changed, other managers apply the records in place,
/// and compaction keeps the store bounded. The in-process store keeps a log as the other backends do.
/// </summary>
public sealed class DeltaCommitTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void OneKeyCommit_IntoALargeDictionary_AppendsARecordOfAFewDozenBytes()
    {
        var writer = _store.OpenQuiet();
        var inventory = writer.ReadOrInitialize(() => new Inventory());
        using (var tx = writer.Transaction())
        {
            for (var i = 0; i < 20_000; i++)
                inventory.Stock[$"item-{i}"] = i;
            tx.Commit();
        }
        writer.Write(writer.Snapshot<Inventory>()); // one snapshot holding the 20,000 entries
        inventory = writer.Read<Inventory>();
        var snapshotSize = _store.Backend.Read()!.Data.Length;

        inventory.Stock["apples"] = 3;

        var record = Assert.Single(_store.Backend.ReadLog(null).Records);
        Assert.True(snapshotSize > 200_000, $"the snapshot is {snapshotSize} bytes");
        Assert.True(record.Data.Length < 64, $"the record is {record.Data.Length} bytes");
        Assert.Equal(3, _store.OpenQuiet().Read<Inventory>().Stock["apples"]);
    }

    [Fact]
    public void EveryKindOfChange_ReachesAnotherManager_InPlace_ThroughTheLog()
    {
        var writer = _store.OpenQuiet();
        var reader = _store.OpenQuiet();
        var mine = writer.ReadOrInitialize(() => new Inventory { Items = { new Item { Name = "a" }, new Item { Name = "b" } } });
        var theirs = reader.Read<Inventory>();
        var heldItem = theirs.Items[1];
        var heldSettings = theirs.Settings;
        var versionBefore = _store.Backend.Read()!.SnapshotVersion;

        writer.Run(() =>
        {
            mine.Stock["pears"] = 4;
            mine.Stock["plums"] = 1;
            mine.Stock.Remove("plums");
            mine.Log.Add("one");
            mine.Log.Insert(0, "zero");
            mine.Log[1] = "uno";
            mine.Log.RemoveAt(0);
            mine.Tags.Add("fresh");
            mine.Tags.Add("stale");
            mine.Tags.Remove("stale");
            mine.Settings.Currency = "USD";
            mine.Items[1].Count = 7;
            mine.Items[1].Notes.Add("checked");
            mine.Items.Insert(0, new Item { Name = "new", Notes = { "n1" } });
        });
        writer.Run(() =>
        {
            mine.Items[0].Notes.Add("n2"); // a node created by the previous commit
            mine.Items.RemoveAt(1);        // "a" leaves the graph
        });
        writer.Run(() => mine.Log.Clear());

        Assert.Equal(versionBefore, _store.Backend.Read()!.SnapshotVersion); // no snapshot was written
        Assert.Equal(3, _store.Backend.ReadLog(null).Records.Count);
        theirs = reader.Refresh<Inventory>();
        Assert.Equal(Json(writer.Snapshot<Inventory>()), Json(reader.Snapshot<Inventory>()));
        Assert.Same(heldItem, theirs.Items[1]);          // references held before stay live and current
        Assert.Equal(7, heldItem.Count);
        Assert.Equal(["checked"], heldItem.Notes);
        Assert.Same(heldSettings, theirs.Settings);
        Assert.Equal("USD", heldSettings.Currency);
        Assert.Equal(["n1", "n2"], theirs.Items[0].Notes);
        Assert.Empty(theirs.Log);
    }

    [Fact]
    public void AValueMovedWithinTheGraph_StaysOneSharedObject_ForOtherManagers()
    {
        var writer = _store.OpenQuiet();
        var reader = _store.OpenQuiet();
        var mine = writer.ReadOrInitialize(() => new Inventory { Items = { new Item { Name = "shared" } } });
        var theirs = reader.Read<Inventory>();

        writer.Run(() => mine.Items.Add(mine.Items[0]));
        writer.Run(() => mine.Items[0].Count = 5);

        theirs = reader.Refresh<Inventory>();
        Assert.Same(theirs.Items[0], theirs.Items[1]);
        Assert.Equal(5, theirs.Items[1].Count);
    }

    [Fact]
    public void Compaction_KeepsTheLogBounded_AndNewManagersReadTheSameState()
    {
        var options = new ManagerOptions { CompactAfterRecords = 10, WatchForChanges = false };
        var writer = _store.Open(options);
        var counter = writer.ReadOrInitialize(() => new Inventory());

        for (var i = 0; i < 95; i++)
            counter.Log.Add($"entry-{i}");

        var log = _store.Backend.ReadLog(null);
        Assert.True(log.Records.Count < 10, $"{log.Records.Count} records after compaction every 10");
        Assert.True(log.Snapshot!.Version > 80);
        Assert.Equal(Enumerable.Range(0, 95).Select(i => $"entry-{i}"), _store.OpenQuiet().Read<Inventory>().Log);
    }

    [Fact]
    public void StoreSize_AfterManyOneKeyCommits_StaysWithinTwiceTheSnapshotPlusTheThreshold()
    {
        var options = new ManagerOptions { CompactAfterRecords = 100, WatchForChanges = false };
        var writer = _store.Open(options);
        var inventory = writer.ReadOrInitialize(() => new Inventory());
        using (var tx = writer.Transaction())
        {
            for (var i = 0; i < 1_000; i++)
                inventory.Stock[$"item-{i}"] = i;
            tx.Commit();
        }
        long largest = 0;

        for (var i = 0; i < 3_000; i++)
        {
            inventory.Stock[$"item-{i % 1_000}"] = i;
            var log = _store.Backend.ReadLog(null);
            var size = log.Snapshot!.Data.Length + log.Records.Sum(r => (long)r.Data.Length);
            var threshold = options.CompactAfterRecords * log.Records.Select(r => (long)r.Data.Length).DefaultIfEmpty(0).Max();
            Assert.True(size <= (2 * log.Snapshot.Data.Length) + threshold, $"commit {i}: {size} bytes stored for a {log.Snapshot.Data.Length}-byte snapshot");
            largest = Math.Max(largest, log.Records.Count);
        }

        Assert.True(largest <= options.CompactAfterRecords, $"the log reached {largest} records");
    }

    [Fact]
    public void AManagerBehindACompaction_ReadsTheSnapshotAndCarriesOn()
    {
        var writer = _store.Open(new ManagerOptions { CompactAfterRecords = 3, WatchForChanges = false });
        var behind = _store.OpenQuiet();
        var mine = writer.ReadOrInitialize(() => new Inventory());
        var theirs = behind.Read<Inventory>();
        var held = theirs.Settings;

        for (var i = 0; i < 10; i++)
            mine.Stock[$"k{i}"] = i;

        behind.Refresh();
        Assert.Equal(10, theirs.Stock.Count);
        Assert.Same(held, behind.Read<Inventory>().Settings);
        behind.Run(() => theirs.Stock["k0"] = 100);
        Assert.Equal(100, writer.Refresh<Inventory>().Stock["k0"]);
    }

    [Fact]
    public void DeltaCommitsOff_StoresWholeStates()
    {
        var writer = _store.Open(new ManagerOptions { DeltaCommits = false, WatchForChanges = false });
        var inventory = writer.ReadOrInitialize(() => new Inventory());

        inventory.Log.Add("whole");

        Assert.Empty(_store.Backend.ReadLog(null).Records);
        Assert.Equal(["whole"], _store.OpenQuiet().Read<Inventory>().Log);
    }

    [Fact]
    public void ARecordStoredOutOfOrder_IsRejected_AndTheReaderSaysSo()
    {
        var writer = _store.OpenQuiet();
        var inventory = writer.ReadOrInitialize(() => new Inventory());
        var snapshot = _store.Backend.ReadLog(null).Snapshot!;
        inventory.Log.Add("first");
        inventory.Log.Add("second");
        var second = _store.Backend.ReadLog(null).Records[1];
        using var copy = new InprocBackend();
        copy.Write(snapshot.Data, snapshot.CommitId);
        using var reader = new Manager(copy, new ManagerOptions { WatchForChanges = false });
        reader.Read<Inventory>();

        // The second record straight after the snapshot: it was made against a later version than the one it follows
        // here (a store may put a record after newer ones, never before the one it was made against).
        copy.TryAppend(second.Data, copy.ReadVersion()!.Value, second.CommitId);

        var error = Assert.Throws<ToscDataException>(() => reader.Refresh());
        Assert.Contains("out of order", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("authenticate")]
    [InlineData("encrypt")]
    public void ProtectedRecords_ThatWereTamperedWith_AreRejected(string mode)
    {
        var key = StateProtection.GenerateKey();
        ManagerOptions Options() => new() { WatchForChanges = false, Protection = mode == "encrypt" ? StateProtection.Encrypt(key) : StateProtection.Authenticate(key) };
        var writer = _store.Open(Options());
        var inventory = writer.ReadOrInitialize(() => new Inventory());
        var reader = _store.Open(Options());
        reader.Read<Inventory>();
        var version = writer.Version!.Value;
        inventory.Log.Add("signed");
        var record = _store.Backend.ReadLog(version).Records[0];
        Assert.Equal(["signed"], reader.Refresh<Inventory>().Log);

        var tampered = record.Data.ToArray();
        tampered[^1] ^= 1;
        _store.Backend.Write(_store.Backend.Read()!.Data, Guid.NewGuid()); // a fresh snapshot, then the tampered record
        var snapshot = _store.Backend.ReadVersion()!.Value;
        var fresh = _store.Open(Options());
        fresh.Read<Inventory>();
        _store.Backend.TryAppend(tampered, snapshot, Guid.NewGuid());

        Assert.Throws<ToscDataException>(() => fresh.Refresh());
    }

    [Fact]
    public void AWatchingManager_AppliesRecordsAndRaisesChanged()
    {
        var writer = _store.OpenQuiet();
        var inventory = writer.ReadOrInitialize(() => new Inventory());
        var watcher = _store.Open();
        var followed = watcher.Read<Inventory>();
        var changes = 0;
        watcher.Changed += (_, e) => Interlocked.Increment(ref changes);

        inventory.Stock["apples"] = 1;
        inventory.Stock["apples"] = 2;

        Eventually.True(() => followed.Stock.TryGetValue("apples", out var n) && n == 2, "the watcher applying both records");
        Eventually.True(() => Volatile.Read(ref changes) >= 1, "Changed raised");
        Assert.Equal(writer.Version, watcher.Version);
    }

    private static string Json(object? value) => System.Text.Json.JsonSerializer.Serialize(value);
}
