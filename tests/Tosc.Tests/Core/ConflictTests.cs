using Xunit;

namespace Tosc.Tests.Core;

/// <summary>
/// Conflicts only where data collides: a transaction whose compare-and-swap lost is checked against the commits that
/// won; when none wrote what it read, its own changes are replayed on top (its body is not run again).
/// </summary>
public sealed class ConflictTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    public static TheoryData<string, Action<Inventory>, Action<Inventory>, string?> ReadsAgainstWrites => new()
    {
        // name, what the transaction reads, what another manager commits meanwhile, the conflicting path (null: none)
        { "a key, written", i => _ = i.Stock["apples"], i => i.Stock["apples"] = 9, "Stock[\"apples\"]" },
        { "a key, another key written", i => _ = i.Stock["apples"], i => i.Stock["pears"] = 9, null },
        { "a missing key, added", i => i.Stock.TryGetValue("kiwis", out _), i => i.Stock["kiwis"] = 1, "Stock[\"kiwis\"]" },
        { "a missing key, another added", i => i.Stock.ContainsKey("kiwis"), i => i.Stock["plums"] = 1, null },
        { "a key, removed", i => _ = i.Stock["apples"], i => i.Stock.Remove("apples"), "Stock[\"apples\"]" },
        { "the count, a key added", i => _ = i.Stock.Count, i => i.Stock["plums"] = 1, "Stock.Count" },
        { "an enumeration, a key written", i => _ = i.Stock.Sum(p => p.Value), i => i.Stock["pears"] = 9, "Stock[\"pears\"]" },
        { "an index, written", i => _ = i.Log[1], i => i.Log[1] = "z", "Log[1]" },
        { "an index, another written", i => _ = i.Log[1], i => i.Log[0] = "z", null },
        { "an index, an append", i => _ = i.Log[1], i => i.Log.Add("z"), null },
        { "an index, an insert before it", i => _ = i.Log[1], i => i.Log.Insert(0, "z"), "Log" },
        { "an index, a removal", i => _ = i.Log[1], i => i.Log.RemoveAt(0), "Log" },
        { "a list's count, an append", i => _ = i.Log.Count, i => i.Log.Add("z"), "Log.Count" },
        { "a list's count, an element set", i => _ = i.Log.Count, i => i.Log[0] = "z", null },
        { "a member, written", i => _ = i.Settings.Currency, i => i.Settings.Currency = "USD", "Settings.Currency" },
        { "a member, another written", i => _ = i.Settings.Currency, i => i.Settings.Precision = 4, null },
        { "a member, its object replaced", i => _ = i.Settings.Currency, i => i.Settings = new Settings(), "Settings" },
        { "a nested member, written", i => _ = i.Items[1].Count, i => i.Items[1].Count = 7, "Items[1].Count" },
        { "a nested member, a sibling written", i => _ = i.Items[1].Count, i => i.Items[0].Count = 7, null },
        { "a set element, added", i => i.Tags.Contains("blue"), i => i.Tags.Add("blue"), "Tags{\"blue\"}" },
        { "a set element, another added", i => i.Tags.Contains("blue"), i => i.Tags.Add("green"), null },
        { "nothing, anything written", _ => { }, i => { i.Stock["apples"] = 9; i.Log.Clear(); i.Settings = new Settings(); }, null },
    };

    [Theory]
    [MemberData(nameof(ReadsAgainstWrites))]
    public void ACommitMeetingAnother_ConflictsExactlyWhenThatOneWroteWhatItRead(string name, Action<Inventory> read, Action<Inventory> write, string? conflictingPath)
    {
        _ = name;
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(Sample());
        var mine = a.Read<Inventory>();
        var theirs = b.Read<Inventory>();

        var transaction = a.Transaction();
        read(mine);
        mine.Stock["mine"] = 1;
        write(theirs); // committed at once, while a's transaction runs
        if (conflictingPath is null)
        {
            transaction.Commit();
            var stored = _store.OpenQuiet().Read<Inventory>();
            Assert.Equal(1, stored.Stock["mine"]);
            var expected = Sample();
            write(expected);
            expected.Stock["mine"] = 1;
            AssertSame(expected, stored);
            AssertSame(expected, mine); // the manager shows what it committed on top of
        }
        else
        {
            var error = Assert.Throws<TransactionConflictException>(() => transaction.Commit());
            Assert.Equal([conflictingPath], error.ConflictingPaths);
            Assert.False(_store.OpenQuiet().Read<Inventory>().Stock.ContainsKey("mine"));
            Assert.False(mine.Stock.ContainsKey("mine"));
        }
        transaction.Dispose();
    }

    [Fact]
    public void Run_WhoseCommitMeetsAnUnrelatedOne_IsReplayedOnTop_WithoutRunningTheBodyAgain()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(Sample());
        var mine = a.Read<Inventory>();
        var theirs = b.Read<Inventory>();
        var runs = 0;

        a.Run(() =>
        {
            runs++;
            mine.Stock["apples"] = mine.Stock["apples"] + 1;
            mine.Log.Add("mine");
            if (runs == 1)
            {
                theirs.Stock["pears"] = 20;
                theirs.Log.Add("theirs");
            }
        });

        Assert.Equal(1, runs);
        var stored = _store.OpenQuiet().Read<Inventory>();
        Assert.Equal(2, stored.Stock["apples"]);
        Assert.Equal(20, stored.Stock["pears"]);
        Assert.Equal(["x", "y", "theirs", "mine"], stored.Log);
        Assert.Equal(["x", "y", "theirs", "mine"], mine.Log);
    }

    [Fact]
    public void WriteSkew_IsImpossible_OneOfTheTwoConflicts()
    {
        // T1 reads apples and writes pears; T2 reads pears and writes apples. Snapshot isolation would commit both.
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(Sample());
        var mine = a.Read<Inventory>();
        var theirs = b.Read<Inventory>();

        var first = a.Transaction();
        if (mine.Stock["apples"] > 0)
            mine.Stock["pears"] = 0;
        using (var second = b.Transaction())
        {
            if (theirs.Stock["pears"] > 0)
                theirs.Stock["apples"] = 0;
            second.Commit();
        }
        var error = Assert.Throws<TransactionConflictException>(() => first.Commit());
        first.Dispose();

        Assert.Equal(["Stock[\"apples\"]"], error.ConflictingPaths);
        var stored = _store.OpenQuiet().Read<Inventory>();
        Assert.Equal((0, 2), (stored.Stock["apples"], stored.Stock["pears"]));
    }

    [Fact]
    public void APositionalWrite_AfterAnInsertBeforeIt_Conflicts_NeverWritingTheWrongElement()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(Sample());
        var mine = a.Read<Inventory>();

        var transaction = a.Transaction();
        mine.Log[1] = "Y"; // means the element "y"
        mine.Log.RemoveAt(0);
        b.Read<Inventory>().Log.Insert(0, "w");
        Assert.Throws<TransactionConflictException>(() => transaction.Commit());
        transaction.Dispose();

        Assert.Equal(["w", "x", "y"], _store.OpenQuiet().Read<Inventory>().Log);
        Assert.Equal(["w", "x", "y"], mine.Log);
    }

    [Fact]
    public void BlindChanges_OfEveryKind_AreReplayedOnTopOfAnotherManagersChanges()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(Sample());
        var mine = a.Read<Inventory>();
        var theirs = b.Read<Inventory>();

        var transaction = a.Transaction();
        mine.Stock["apples"] = 5;      // a blind set of a key b changes too: this one comes after
        mine.Stock.Remove("pears");     // reads pears: b does not touch it
        mine.Log.Add("m1");
        ((DList<string>)mine.Log).AddRange(["m2", "m3"]);
        mine.Tags.Add("mine");
        mine.Settings.Precision = 6;
        mine.Items.Add(new Item { Name = "c", Notes = ["new"] });
        theirs.Stock["apples"] = 7;
        theirs.Log.Add("t1");
        theirs.Tags.Add("theirs");
        theirs.Settings.Currency = "USD";
        theirs.Items[0].Notes.Add("t");
        transaction.Commit();
        transaction.Dispose();

        foreach (var view in new[] { mine, _store.OpenQuiet().Read<Inventory>(), b.Refresh<Inventory>() })
        {
            Assert.Equal(5, view.Stock["apples"]);
            Assert.False(view.Stock.ContainsKey("pears"));
            Assert.Equal(["x", "y", "t1", "m1", "m2", "m3"], view.Log);
            Assert.True(view.Tags.SetEquals(["red", "theirs", "mine"]));
            Assert.Equal(("USD", 6), (view.Settings.Currency, view.Settings.Precision));
            Assert.Equal(["t"], view.Items[0].Notes);
            Assert.Equal(["new"], view.Items[2].Notes);
        }
        // The new item is the one a holds, still linked: a later change to it is stored.
        var added = mine.Items[2];
        added.Count = 3;
        Assert.Equal(3, _store.OpenQuiet().Read<Inventory>().Items[2].Count);
    }

    [Fact]
    public void AReadOnlyTransaction_CommitsWhenWhatItReadIsUnchanged_AndConflictsWhenNot()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(Sample());
        var mine = a.Read<Inventory>();
        var theirs = b.Read<Inventory>();

        using (var transaction = a.Transaction())
        {
            _ = mine.Stock["apples"];
            theirs.Stock["pears"] = 9;
            transaction.Commit();
        }
        Assert.Equal(9, mine.Stock["pears"]); // brought up to date by the check

        using (var transaction = a.Transaction())
        {
            _ = mine.Stock["apples"];
            theirs.Stock["apples"] = 9;
            Assert.Equal(["Stock[\"apples\"]"], Assert.Throws<TransactionConflictException>(() => transaction.Commit()).ConflictingPaths);
        }
    }

    [Fact]
    public void WithoutALog_EveryConcurrentCommitStillConflicts()
    {
        var options = new ManagerOptions { DeltaCommits = false, WatchForChanges = false };
        var (a, b) = (_store.Open(options), _store.Open(options));
        a.Write(Sample());
        var mine = a.Read<Inventory>();
        var transaction = a.Transaction();
        mine.Stock["mine"] = 1;
        b.Read<Inventory>().Stock["theirs"] = 1;

        var error = Assert.Throws<TransactionConflictException>(() => transaction.Commit());
        transaction.Dispose();

        Assert.Empty(error.ConflictingPaths);
    }

    /// <summary>The inventory the conflict cases start from (also <see cref="CheckedAppendTests"/>').</summary>
    internal static Inventory Sample() => new()
    {
        Stock = new Dictionary<string, int> { ["apples"] = 1, ["pears"] = 2 },
        Log = ["x", "y"],
        Items = [new Item { Name = "a" }, new Item { Name = "b" }],
        Tags = new HashSet<string> { "red" },
    };

    internal static void AssertSame(Inventory expected, Inventory actual)
    {
        Assert.Equal(expected.Stock.OrderBy(p => p.Key), actual.Stock.OrderBy(p => p.Key));
        Assert.Equal(expected.Log, actual.Log);
        Assert.Equal((expected.Settings.Currency, expected.Settings.Precision), (actual.Settings.Currency, actual.Settings.Precision));
        Assert.Equal(expected.Items.Select(i => (i.Name, i.Count)), actual.Items.Select(i => (i.Name, i.Count)));
        Assert.True(expected.Tags.SetEquals(actual.Tags));
    }
}
