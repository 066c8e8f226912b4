using Xunit;

namespace Tosc.Tests.Core;

public sealed class TransactionTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void Commit_StoresAllChangesAsOneVersion()
    {
        var a = _store.Open();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();
        var before = a.Version;

        using (var transaction = a.Transaction())
        {
            inventory.Stock["apples"] = 3;
            inventory.Log.Add("restock");
            inventory.Settings.Currency = "USD";
            transaction.Commit();
        }

        var seen = _store.OpenQuiet().Read<Inventory>();
        Assert.Equal((3, "restock", "USD"), (seen.Stock["apples"], seen.Log[0], seen.Settings.Currency));
        Assert.NotEqual(before, a.Version);
        Assert.Equal(before + 1, a.Version);
    }

    [Fact]
    public void ReadsInsideATransaction_SeeItsOwnWrites_AndNothingIsStoredBeforeCommit()
    {
        var a = _store.Open();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();
        var version = a.Version;

        using var transaction = a.Transaction();
        inventory.Stock["pears"] = 2;

        Assert.Equal(2, inventory.Stock["pears"]);
        Assert.Equal(version, _store.Backend.Read()!.Version);
        Assert.True(a.IsDirty(inventory.Stock));
        Assert.False(a.IsDirty(inventory.Log));
    }

    [Fact]
    public void DisposeWithoutCommit_RollsBackEveryLocalChange()
    {
        var a = _store.Open();
        a.Write(new Inventory { Log = ["keep"] });
        var inventory = a.Read<Inventory>();
        var settings = inventory.Settings;

        using (a.Transaction())
        {
            inventory.Log.Add("drop");
            inventory.Log.RemoveAt(0);
            inventory.Stock["x"] = 1;
            inventory.Settings = new Settings { Currency = "JPY" };
            inventory.Tags.Add("t");
        }

        Assert.Equal(["keep"], inventory.Log);
        Assert.Empty(inventory.Stock);
        Assert.Same(settings, inventory.Settings);
        Assert.Empty(inventory.Tags);
        Assert.False(a.IsDirty(inventory.Log));
    }

    [Fact]
    public void NestedScopes_OnlyTheOutermostCommits()
    {
        var a = _store.Open();
        a.Write(new Counter());
        var counter = a.Read<Counter>();
        var version = a.Version;

        using var outer = a.Transaction();
        using (var inner = a.Transaction())
        {
            counter.Value = 5;
            inner.Commit();
            Assert.False(inner.IsOutermost);
        }
        Assert.Equal(version, _store.Backend.Read()!.Version);

        outer.Commit();
        Assert.NotEqual(version, _store.Backend.Read()!.Version);
    }

    [Fact]
    public void InnerScopeDisposedWithoutCommit_UndoesExactlyItsOwnChanges_AndTheOuterCommits()
    {
        var a = _store.Open();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();

        using (var outer = a.Transaction())
        {
            inventory.Log.Add("before");
            using (a.Transaction())
            {
                inventory.Log.Add("inner");
                inventory.Stock["inner"] = 1;
            }
            Assert.Equal(["before"], inventory.Log); // issue 16: a savepoint, not a doomed transaction
            Assert.Empty(inventory.Stock);
            inventory.Log.Add("after");
            outer.Commit();
        }

        Assert.Equal(["before", "after"], _store.OpenQuiet().Read<Inventory>().Log);
        Assert.Empty(_store.OpenQuiet().Read<Inventory>().Stock);
        Assert.False(a.IsDirty(inventory.Log));
    }

    [Fact]
    public void NestedRun_WhoseBodyThrows_UndoesItsChanges_AndTheOuterTransactionGoesOn()
    {
        var a = _store.Open();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();

        a.Run(() =>
        {
            inventory.Log.Add("outer");
            Assert.Throws<InvalidOperationException>(() => a.Run(() =>
            {
                inventory.Log.Add("inner");
                throw new InvalidOperationException("the inner body fails");
            }));
            Assert.Equal(["outer"], inventory.Log);
        });

        Assert.Equal(["outer"], _store.OpenQuiet().Read<Inventory>().Log);
    }

    [Fact]
    public void Commit_OfATransactionLeftOpenAcrossDispose_ThrowsAndStoresNothing()
    {
        var a = _store.Open();
        a.Write(new Counter { Value = 1 });
        var counter = a.Read<Counter>();
        var transaction = a.Transaction();
        counter.Value = 2;

        a.Dispose();

        Assert.Throws<ObjectDisposedException>(() => transaction.Commit());
        Assert.Equal(1, _store.OpenQuiet().Read<Counter>().Value);
        Assert.Equal(1, counter.Value); // rolled back
    }

    [Fact]
    public void Conflict_RollsBackRefreshesAndThrows_AndNothingHalfAppliedIsStored()
    {
        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Inventory());
        var mine = a.Read<Inventory>();
        b.Read<Inventory>().Stock["winner"] = 1;

        var transaction = a.Transaction();
        mine.Stock["loser"] = mine.Stock.Count; // reads the count, which b's new key changed
        mine.Log.Add("loser");
        var error = Assert.Throws<TransactionConflictException>(() => transaction.Commit());
        transaction.Dispose();

        Assert.Equal(["Stock.Count"], error.ConflictingPaths);
        Assert.Contains("Stock.Count", error.Message, StringComparison.Ordinal);
        Assert.Equal(error.ActualVersion, a.Version);
        Assert.Equal(1, mine.Stock["winner"]);
        Assert.False(mine.Stock.ContainsKey("loser"));
        Assert.Empty(mine.Log);
        var stored = _store.OpenQuiet().Read<Inventory>();
        Assert.False(stored.Stock.ContainsKey("loser"));
    }

    [Fact]
    public void ImplicitChange_ThatConflicts_IsUndoneAndThrows()
    {
        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Inventory { Log = ["first"] });
        var mine = a.Read<Inventory>();
        b.Read<Inventory>().Log.Insert(0, "theirs");

        // Index 0 named "first" when it was written; b's insert moved it, so the write cannot be replayed.
        var error = Assert.Throws<TransactionConflictException>(() => mine.Log[0] = "mine");

        Assert.Equal(["Log"], error.ConflictingPaths);
        Assert.Equal(["theirs", "first"], mine.Log);
        Assert.Equal(["theirs", "first"], _store.OpenQuiet().Read<Inventory>().Log);
    }

    [Fact]
    public void ImplicitAppend_AfterAnotherManagersAppend_IsReplayedOnTop()
    {
        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Inventory());
        var mine = a.Read<Inventory>();
        b.Read<Inventory>().Log.Add("theirs");

        mine.Log.Add("mine");

        Assert.Equal(["theirs", "mine"], mine.Log);
        Assert.Equal(["theirs", "mine"], _store.OpenQuiet().Read<Inventory>().Log);
    }

    [Fact]
    public void TransactionWithoutChanges_StoresNothing()
    {
        var a = _store.Open();
        a.Write(new Counter());
        var counter = a.Read<Counter>();
        var version = a.Version;

        using (var transaction = a.Transaction())
        {
            _ = counter.Value;
            transaction.Commit();
        }

        Assert.Equal(version, _store.Backend.Read()!.Version);
    }

    [Fact]
    public void SettingAPropertyToItsCurrentValue_RecordsNoChange()
    {
        var a = _store.Open();
        a.Write(new Counter { Value = 4 });
        var counter = a.Read<Counter>();
        var version = a.Version;

        counter.Value = 4;

        Assert.Equal(version, a.Version);
    }

    [Fact]
    public void UnrelatedThreadsChanges_WaitForTheRunningTransaction_AndNeverJoinIt()
    {
        var a = _store.Open();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();
        using var started = new ManualResetEventSlim();
        using var done = new ManualResetEventSlim();
        var other = new Thread(() =>
        {
            started.Set();
            inventory.Stock["other"] = 1;
            done.Set();
        });

        using (var transaction = a.Transaction())
        {
            inventory.Log.Add("mine");
            // An unrelated thread: one started inside the transaction would inherit it, as with TransactionScope.
            using (ExecutionContext.SuppressFlow())
                other.Start();
            Assert.True(started.Wait(TimeSpan.FromSeconds(30)));
            // A negative check: had the other flow joined this transaction, it would finish at once.
            Assert.False(done.Wait(TimeSpan.FromMilliseconds(200)), "another flow's change must wait for the transaction");
        }

        Assert.True(done.Wait(TimeSpan.FromSeconds(30)));
        Assert.Empty(inventory.Log);
        Assert.Equal(1, inventory.Stock["other"]);
        Assert.Equal(1, _store.OpenQuiet().Read<Inventory>().Stock["other"]);
    }

    [Fact]
    public async Task AsyncTransaction_FlowsAcrossAwaits_AndCommits()
    {
        var a = _store.Open();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();

        await using (var transaction = await a.TransactionAsync())
        {
            await Task.Yield();
            inventory.Log.Add("async");
            await Task.Delay(1);
            Assert.True(a.IsDirty(inventory.Log));
            await transaction.CommitAsync();
        }

        Assert.Equal(["async"], _store.OpenQuiet().Read<Inventory>().Log);
    }

    [Fact]
    public async Task ConcurrentAsyncTransactionsOfOneManager_NeverCommitOrRollBackEachOthersWork()
    {
        var a = _store.Open();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();

        var tasks = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            await using var transaction = await a.TransactionAsync();
            inventory.Log.Add($"keep {i}");
            await Task.Yield();
            if (i % 2 == 0)
                await transaction.CommitAsync();
        }));
        await Task.WhenAll(tasks);

        var expected = Enumerable.Range(0, 8).Where(i => i % 2 == 0).Select(i => $"keep {i}").Order();
        Assert.Equal(expected, inventory.Log.Order());
        Assert.Equal(expected, _store.OpenQuiet().Read<Inventory>().Log.Order());
    }

    [Fact]
    public async Task CancelledCommitAsync_RollsBackAndLeavesTheManagerUsable()
    {
        var a = _store.Open();
        a.Write(new Counter { Value = 1 });
        var counter = a.Read<Counter>();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var transaction = await a.TransactionAsync();
        counter.Value = 2;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => transaction.CommitAsync(cancelled.Token));
        await transaction.DisposeAsync();

        Assert.Equal(1, counter.Value);
        counter.Value = 3;
        Assert.Equal(3, _store.OpenQuiet().Read<Counter>().Value);
    }

    [Fact]
    public void ValueThatCannotBeEncoded_FailsTheCommit_AndIsNotRetriedAsAConflict()
    {
        var a = _store.Open();
        a.Write(new Scalars());
        var root = a.Read<Scalars>();
        var attempts = 0;

        Assert.Throws<ArgumentException>(() => a.Run(() =>
        {
            attempts++;
            root.Anything = new System.IO.MemoryStream();
        }));

        Assert.Equal(1, attempts);
        Assert.Null(root.Anything);
    }

    [Fact]
    public void ChangedHandler_RaisedByAConflict_RunsAfterTheFailedTransaction_AndItsChangesCommit()
    {
        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Inventory { Log = ["first"] });
        var mine = a.Read<Inventory>();
        b.Read<Inventory>().Log.Insert(0, "theirs");
        var handled = 0;
        a.Changed += (_, _) =>
        {
            if (Interlocked.Increment(ref handled) == 1)
                mine.Log.Add("from handler");
        };

        Assert.Throws<TransactionConflictException>(() => mine.Log[0] = "mine");

        Assert.Equal(1, handled);
        Assert.Equal(["theirs", "first", "from handler"], _store.OpenQuiet().Read<Inventory>().Log);
    }

    [Fact]
    public void IsLinked_AfterALocalRemoval_IsFalseBeforeAndAfterCommit()
    {
        var a = _store.Open();
        a.Write(new Inventory { Items = [new Item { Name = "x" }] });
        var inventory = a.Read<Inventory>();
        var item = inventory.Items[0];

        using (var transaction = a.Transaction())
        {
            inventory.Items.Clear();
            Assert.False(a.IsLinked(item));
            transaction.Commit();
        }

        Assert.False(a.IsLinked(item));
        Assert.True(a.IsLinked(inventory.Items));
        Assert.False(a.IsLinked(new Item()));
    }
}
