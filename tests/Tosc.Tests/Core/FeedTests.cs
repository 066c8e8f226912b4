using Xunit;

namespace Tosc.Tests.Core;

/// <summary>The change feed: path-level changes on Changed and Committed, and the resumable WatchAsync stream.</summary>
public sealed class FeedTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    private static Inventory Sample() => new()
    {
        Stock = new Dictionary<string, int> { ["apples"] = 1, ["pears"] = 2 },
        Log = ["x", "y", "z"],
        Items = [new Item { Name = "a" }, new Item { Name = "b" }],
        Tags = new HashSet<string> { "red" },
    };

    private static void ChangeEveryKind(Inventory inventory)
    {
        inventory.Stock["apples"] = 5;
        inventory.Stock["kiwis"] = 7;
        inventory.Stock.Remove("pears");
        inventory.Log[0] = "X";
        inventory.Log.Insert(1, "w");
        inventory.Log.RemoveAt(3);
        inventory.Log.Add("end");
        inventory.Items[1].Count = 4;
        inventory.Tags.Add("blue");
        inventory.Tags.Remove("red");
        inventory.Settings.Currency = "USD";
    }

    private static readonly PathChange[] s_everyKind =
    [
        new("Stock[\"apples\"]", PathChangeKind.Set, 1, 5),
        new("Stock[\"kiwis\"]", PathChangeKind.Insert, null, 7),
        new("Stock[\"pears\"]", PathChangeKind.Remove, 2, null),
        new("Log[0]", PathChangeKind.Set, "x", "X"),
        new("Log[1]", PathChangeKind.Insert, null, "w"),
        new("Log[3]", PathChangeKind.Remove, "z", null),
        new("Log[3]", PathChangeKind.Insert, null, "end"),
        new("Items[1].Count", PathChangeKind.Set, 0, 4),
        new("Tags{\"blue\"}", PathChangeKind.Insert, null, "blue"),
        new("Tags{\"red\"}", PathChangeKind.Remove, "red", null),
        new("Settings.Currency", PathChangeKind.Set, "EUR", "USD"),
    ];

    [Fact]
    public void Changed_ReportsARemoteCommitPathByPath_AndCommitted_ReportsTheOwnOneTheSameWay()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(Sample());
        var mine = a.Read<Inventory>();
        b.Read<Inventory>();
        ChangedEventArgs? remote = null, own = null;
        b.Changed += (_, e) => remote = e;
        a.Committed += (_, e) => own = e;

        a.Run(() => ChangeEveryKind(mine));
        b.Refresh();

        Assert.NotNull(own);
        Assert.Equal(s_everyKind, own.Changes);
        Assert.Equal(a.Version, own.NewVersion);
        Assert.NotNull(remote);
        Assert.Equal(s_everyKind, remote.Changes);
        Assert.Equal((own.OldVersion, own.NewVersion, own.CommitId), (remote.OldVersion, remote.NewVersion, remote.CommitId));
    }

    [Fact]
    public void Changes_CarryDetachedValues_AndWholeContentReplacementsAsReplaceOrClear()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(Sample());
        var mine = a.Read<Inventory>();
        b.Read<Inventory>();
        var seen = new List<PathChange>();
        b.Changed += (_, e) => seen.AddRange(e.Changes);

        mine.Items.Add(new Item { Name = "c", Notes = ["n"] });
        mine.Log.Clear();
        ((DList<string>)mine.Log).AddRange(["p", "q"]);
        b.Refresh();

        var added = Assert.IsType<Item>(seen[0].NewValue, exactMatch: false);
        Assert.Equal(("Items[2]", PathChangeKind.Insert, "c"), (seen[0].Path, seen[0].Kind, added.Name));
        Assert.Equal(["n"], added.Notes);
        Assert.False(added.GetType().Assembly.IsDynamic, "a detached value, not a live proxy");
        Assert.Equal(("Log", PathChangeKind.Clear), (seen[1].Path, seen[1].Kind));
        Assert.Equal(["x", "y", "z"], Assert.IsAssignableFrom<IList<string>>(seen[1].OldValue));
        Assert.Equal(("Log", PathChangeKind.Replace), (seen[2].Path, seen[2].Kind));
        Assert.Equal(["p", "q"], Assert.IsAssignableFrom<IList<string>>(seen[2].NewValue));
    }

    [Fact]
    public void CountersAndByteArrays_ReportTheirChanges_AndAWholeStateWriteIsOneReplaceAtTheRoot()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(new Scoreboard { Visits = new DCounter(5) });
        var board = a.Read<Scoreboard>();
        b.Read<Scoreboard>();
        var seen = new List<PathChange>();
        b.Changed += (_, e) => seen.AddRange(e.Changes);

        board.Visits.Increment(3);
        board.Lanes.Add(new DCounter(1));
        board.Lanes[0].Increment();
        b.Refresh();

        Assert.Equal(new PathChange("Visits", PathChangeKind.Set, 5L, 8L), seen[0]);
        Assert.Equal(("Lanes[0]", PathChangeKind.Insert, 1L), (seen[1].Path, seen[1].Kind, seen[1].NewValue));
        Assert.Equal(new PathChange("Lanes[0]", PathChangeKind.Set, 1L, 2L), seen[2]);

        seen.Clear();
        a.Write(new Scoreboard { Title = "new" });
        b.Refresh();
        var whole = Assert.Single(seen);
        Assert.Equal(("", PathChangeKind.Replace), (whole.Path, whole.Kind));
        Assert.Equal("new", Assert.IsAssignableFrom<Scoreboard>(whole.NewValue).Title);
    }

    [Fact]
    public void ByteArrays_ReportTheirContentReplaced()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(new Holder());
        var mine = a.Read<Holder>();
        b.Read<Holder>();
        var seen = new List<PathChange>();
        b.Changed += (_, e) => seen.AddRange(e.Changes);

        mine.Data.Append([1, 2, 3]);
        b.Refresh();

        var change = Assert.Single(seen);
        Assert.Equal(("Data", PathChangeKind.Replace), (change.Path, change.Kind));
        Assert.Equal(new byte[] { 1, 2, 3 }, change.NewValue);
    }

    public class Holder
    {
        public virtual DByteArray Data { get; set; } = new();
    }

    [Fact]
    public async Task WatchAsync_GivesEveryCommitOnceInOrder_AndResumesFromAVersion()
    {
        var writer = _store.Open();
        writer.Write(Sample());
        var inventory = writer.Read<Inventory>();
        var start = writer.Version;
        for (var i = 0; i < 5; i++)
            inventory.Stock["apples"] = 10 + i;

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var sets = await writer.WatchAsync(start, timeout.Token).Take(5).ToListAsync(timeout.Token);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => (object?)(10 + i)), sets.Select(s => s.Changes.Single().NewValue));
        Assert.All(sets, s => Assert.False(s.IsReset));
        Assert.Equal(sets.Select(s => s.PreviousVersion).Skip(1), sets.Select(s => (long?)s.Version).SkipLast(1));

        // Resume after the third: the fourth and fifth, then a commit made while streaming.
        var resumed = writer.WatchAsync(sets[2].Version, timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await resumed.MoveNextAsync());
        Assert.Equal((sets[3].Version, sets[3].PreviousVersion, sets[3].CommitId), (resumed.Current.Version, resumed.Current.PreviousVersion, resumed.Current.CommitId));
        Assert.Equal(sets[3].Changes, resumed.Current.Changes);
        Assert.True(await resumed.MoveNextAsync());
        Assert.Equal(sets[4].Version, resumed.Current.Version);
        var next = resumed.MoveNextAsync();
        _store.OpenQuiet().Read<Inventory>().Log.Add("live");
        Assert.True(await next);
        Assert.Equal(new PathChange("Log[3]", PathChangeKind.Insert, null, "live"), resumed.Current.Changes.Single());
        await resumed.DisposeAsync();
    }

    [Fact]
    public async Task WatchAsync_FromAVersionTheLogNoLongerReaches_StartsWithAReset_NeverAGap()
    {
        var writer = _store.Open(new ManagerOptions { CompactAfterRecords = 2 });
        writer.Write(Sample());
        var inventory = writer.Read<Inventory>();
        var start = writer.Version;
        for (var i = 0; i < 6; i++)
            inventory.Stock["apples"] = 20 + i;

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var first = await writer.WatchAsync(start, timeout.Token).FirstAsync(timeout.Token);

        Assert.True(first.IsReset);
        Assert.Equal(writer.Version, first.Version);
        var whole = Assert.IsAssignableFrom<Inventory>(first.Changes.Single().NewValue);
        Assert.Equal(25, whole.Stock["apples"]);
    }

    [Fact]
    public async Task WatchAsync_WhenTheLogIsCompactedPastAConsumerThatFellBehind_GivesAReset_ThenGoesOn()
    {
        var writer = _store.Open(new ManagerOptions { CompactAfterRecords = 3 });
        writer.Write(Sample());
        var inventory = writer.Read<Inventory>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stream = writer.WatchAsync(writer.Version, timeout.Token).GetAsyncEnumerator(timeout.Token);

        inventory.Stock["apples"] = 1000;
        Assert.True(await stream.MoveNextAsync());
        Assert.False(stream.Current.IsReset);
        var handled = stream.Current.Version;

        // The consumer pauses while more commits than the log keeps are made.
        for (var i = 0; i < 8; i++)
            inventory.Stock["apples"] = 2000 + i;
        Assert.True(await stream.MoveNextAsync());
        Assert.True(stream.Current.IsReset, "a reset, not a silent gap");
        Assert.Equal(handled, stream.Current.PreviousVersion);
        Assert.Equal(2007, Assert.IsAssignableFrom<Inventory>(stream.Current.Changes.Single().NewValue).Stock["apples"]);

        inventory.Log.Add("after");
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(new PathChange("Log[3]", PathChangeKind.Insert, null, "after"), stream.Current.Changes.Single());
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task WatchAsync_WithAPathPrefix_KeepsOnlyWhatIsUnderIt()
    {
        var writer = _store.Open();
        writer.Write(Sample());
        var inventory = writer.Read<Inventory>();
        var start = writer.Version;
        inventory.Log.Add("not this");
        writer.Run(() =>
        {
            inventory.Stock["apples"] = 3;
            inventory.Settings.Currency = "CHF";
        });

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var set = await writer.WatchAsync("Stock", start, timeout.Token).FirstAsync(timeout.Token);

        Assert.Equal([new PathChange("Stock[\"apples\"]", PathChangeKind.Set, 1, 3)], set.Changes);
    }
}
