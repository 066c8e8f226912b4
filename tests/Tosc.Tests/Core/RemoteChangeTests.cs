using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Core;

public sealed class RemoteChangeTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void RemoteChanges_AreAppliedInPlace_ToEveryReferenceTheAppHolds()
    {
        var a = _store.Open();
        var b = _store.Open();
        a.Write(new Inventory { Items = [new Item { Name = "pear" }] });
        var root = b.Read<Inventory>();
        var stock = root.Stock;
        var log = root.Log;
        var settings = root.Settings;
        var item = root.Items[0];

        using (var transaction = a.Transaction())
        {
            var theirs = a.Read<Inventory>();
            theirs.Stock["apples"] = 3;
            theirs.Log.Add("remote");
            theirs.Settings.Currency = "CHF";
            theirs.Items[0].Count = 8;
            transaction.Commit();
        }

        Eventually.True(() => b.Version == a.Version, "b applies a's commit");
        Assert.Same(root, b.Read<Inventory>());
        Assert.Equal(3, stock["apples"]);
        Assert.Equal(["remote"], log);
        Assert.Equal("CHF", settings.Currency);
        Assert.Equal(8, item.Count);
        Assert.True(b.IsLinked(item));
    }

    [Fact]
    public void ObjectRemovedRemotely_BecomesUnlinked()
    {
        var a = _store.Open();
        var b = _store.Open();
        a.Write(new Inventory { Items = [new Item { Name = "gone" }, new Item { Name = "kept" }] });
        var items = b.Read<Inventory>().Items;
        var gone = items[0];
        var kept = items[1];

        a.Read<Inventory>().Items.RemoveAt(0);

        Eventually.True(() => b.Version == a.Version, "b applies the removal");
        Assert.False(b.IsLinked(gone));
        Assert.True(b.IsLinked(kept));
        Assert.Same(kept, items[0]);
    }

    [Fact]
    public void ChangedEvent_FiresAfterTheRemoteStateIsApplied_WithBothVersions()
    {
        var a = _store.Open();
        var b = _store.Open();
        a.Write(new Counter());
        var counter = b.Read<Counter>();
        var events = new List<(ChangedEventArgs Args, long Seen)>();
        b.Changed += (_, e) =>
        {
            lock (events)
                events.Add((e, counter.Value));
        };
        var before = b.Version;

        a.Read<Counter>().Value = 9;

        Eventually.True(() => { lock (events) return events.Count > 0; }, "the Changed event");
        lock (events)
        {
            Assert.Equal(before, events[0].Args.OldVersion);
            Assert.Equal(a.Version, events[0].Args.NewVersion);
            Assert.Equal(9, events[0].Seen);
        }
    }

    [Fact]
    public void DuringATransaction_NoRemoteChangeIsApplied_AndAfterItEndsPendingChangesAre()
    {
        var a = _store.Open();
        using var watched = new CountingBackend(_store.Backend);
        using var b = new Manager(watched);
        a.Write(new Counter { Value = 1 });
        var counter = b.Read<Counter>();

        using (b.Transaction())
        {
            a.Read<Counter>().Value = 2;
            Eventually.True(() => watched.LastSeen == a.Version, "b's watcher noticed the new version");
            Assert.Equal(1, counter.Value);
        }

        Eventually.True(() => counter.Value == 2, "the pending change is applied after the transaction");
    }

    [Fact]
    public void References_NeverPointAtTheWrongObject_AfterItemsAreReorderedRemotely()
    {
        var a = _store.Open();
        var b = _store.Open();
        a.Write(new Inventory { Items = [new Item { Name = "one" }, new Item { Name = "two" }] });
        var items = b.Read<Inventory>().Items;
        var one = items[0];
        var two = items[1];

        using (var transaction = a.Transaction())
        {
            var theirs = a.Read<Inventory>().Items;
            var first = theirs[0];
            theirs.RemoveAt(0);
            theirs.Add(first);
            theirs.Insert(0, new Item { Name = "zero" });
            transaction.Commit();
        }

        Eventually.True(() => b.Version == a.Version, "b applies the reorder");
        Assert.Equal(["zero", "two", "one"], items.Select(i => i.Name));
        Assert.Same(two, items[1]);
        Assert.Same(one, items[2]);
        Assert.Equal("one", one.Name);
    }

    [Fact]
    public void CorruptRemoteState_IsNotApplied_AndTheManagerKeepsTheVersionItHolds()
    {
        var a = _store.Open();
        a.Write(new Counter { Value = 1 });
        var counter = a.Read<Counter>();
        var version = a.Version;

        _store.Backend.Write(new byte[] { (byte)'T', (byte)'O', (byte)'S', (byte)'C', 1, 0, 0x93 }, Guid.NewGuid());

        var error = Assert.Throws<ToscDataException>(() => a.Refresh());
        Assert.Contains("offset", error.Message);
        Assert.Equal(version, a.Version);
        Assert.Equal(1, counter.Value);
    }

    [Fact]
    public void Watcher_SurvivesACorruptState_AndAppliesTheNextGoodOne()
    {
        var a = _store.Open(new ManagerOptions { PollInterval = TimeSpan.FromMilliseconds(50) });
        var writer = _store.OpenQuiet();
        writer.Write(new Counter { Value = 1 });
        var counter = a.Read<Counter>();

        _store.Backend.Write("garbage"u8.ToArray(), Guid.NewGuid());
        writer.Write(new Counter { Value = 2 });

        Eventually.True(() => a.Version == writer.Version, "the watcher recovers and applies the good state");
        Assert.Equal(2, a.Read<Counter>().Value);
    }

    [Fact]
    public void ManagerNoLongerReferenced_CanBeCollected()
    {
        var weak = CreateAndDrop(_store.Backend);

        Eventually.True(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            _store.Backend.Write(new byte[] { (byte)'T', (byte)'O', (byte)'S', (byte)'C', 1, 0, 0xc0 }, Guid.NewGuid());
            return !weak.TryGetTarget(out _);
        }, "the unreferenced manager is collected");
    }

    private static WeakReference<Manager> CreateAndDrop(InprocBackend backend)
    {
        var manager = new Manager(backend);
        manager.Write(new Counter());
        manager.Read<Counter>();
        return new WeakReference<Manager>(manager);
    }

    /// <summary>Records what the watcher's waits returned, so a test knows it has noticed a change (a probe, not a fault).</summary>
    private sealed class CountingBackend(IBackend inner) : IBackend
    {
        private long _lastSeen = -1;

        public long? LastSeen => Interlocked.Read(ref _lastSeen);

        public StoredState? Read(CancellationToken cancellationToken = default) => inner.Read(cancellationToken);

        public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

        public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => inner.Write(data, commitId, cancellationToken);

        public ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => inner.WriteAsync(data, commitId, cancellationToken);

        public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) => inner.TryWrite(data, expectedVersion, commitId, cancellationToken);

        public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) => inner.TryWriteAsync(data, expectedVersion, commitId, cancellationToken);

        public async ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default)
        {
            var seen = await inner.WaitForChangeAsync(knownVersion, timeout, cancellationToken);
            Interlocked.Exchange(ref _lastSeen, seen ?? -1);
            return seen;
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public void AStoredStateThisManagerCannotRead_RaisesRefreshFailed_AndItsCommitsFailWithTheDataError()
    {
        var manager = _store.Open();
        var counter = manager.ReadOrInitialize(() => new Counter());
        var failures = new System.Collections.Concurrent.ConcurrentQueue<ToscDataException>();
        manager.RefreshFailed += (_, e) => failures.Enqueue(e.Exception);

        // Another writer stores bytes this manager cannot decode (here: a truncated value).
        _store.Backend.Write("TOSC\u0001\u0000\u0092"u8.ToArray(), Guid.NewGuid());

        Eventually.True(() => !failures.IsEmpty, "RefreshFailed raised by the watcher");
        var error = Assert.Throws<ToscDataException>(() => counter.Value = 5); // issue 16: not a TransactionConflictException
        Assert.NotNull(error.Message);
        Assert.Equal(0, counter.Value);
    }
}
