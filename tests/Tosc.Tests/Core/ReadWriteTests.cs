using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Core;

public sealed class ReadWriteTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void Read_WhenNothingIsStored_ReturnsNullAndVersionIsNull()
    {
        var manager = _store.Open();

        Assert.Null(manager.Read());
        Assert.Null(manager.Version);
    }

    [Fact]
    public void ReadOfT_WhenNothingIsStored_SaysToWriteFirst()
    {
        var manager = _store.Open();

        var error = Assert.Throws<InvalidOperationException>(() => manager.Read<Inventory>());

        Assert.Contains("Write", error.Message);
    }

    [Fact]
    public void Write_ThenRead_ReturnsALiveProxyWithLiveCollections()
    {
        var manager = _store.Open();
        manager.Write(new Inventory { Stock = new Dictionary<string, int> { ["apples"] = 3 } });

        var inventory = manager.Read<Inventory>();

        Assert.NotEqual(typeof(Inventory), inventory.GetType());
        Assert.IsType<DDict<string, int>>(inventory.Stock);
        Assert.IsType<DList<string>>(inventory.Log);
        Assert.IsType<DSet<string>>(inventory.Tags);
        Assert.Equal(3, inventory.Stock["apples"]);
        Assert.NotNull(manager.Version);
    }

    [Fact]
    public void Read_WhenNothingChanged_ReturnsTheSameLiveRoot()
    {
        var manager = _store.Open();
        manager.Write(new Inventory());

        Assert.Same(manager.Read<Inventory>(), manager.Read<Inventory>());
    }

    [Fact]
    public void Write_ReplacesUnconditionally_AndOldObjectsBecomeUnlinked()
    {
        var a = _store.Open();
        var b = _store.OpenQuiet();
        a.Write(new Inventory());
        var old = a.Read<Inventory>();
        b.Write(new Inventory { Log = ["from b"] });

        var fresh = a.Refresh<Inventory>();

        Assert.Equal(["from b"], fresh.Log);
        Assert.False(a.IsLinked(old));
        Assert.True(a.IsLinked(fresh));
    }

    [Fact]
    public void TryWrite_WithTheCurrentVersion_Succeeds_AndWithAStaleOne_ReturnsFalse()
    {
        var manager = _store.Open();
        Assert.True(manager.TryWrite(new Counter { Value = 1 }, expectedVersion: null));
        var first = manager.Version;

        Assert.False(manager.TryWrite(new Counter { Value = 2 }, expectedVersion: null));
        Assert.True(manager.TryWrite(new Counter { Value = 3 }, first));
        Assert.False(manager.TryWrite(new Counter { Value = 4 }, first));

        Assert.Equal(3, manager.Refresh<Counter>().Value);
    }

    [Fact]
    public async Task AsyncForms_ReadWriteAndTryWrite_AgreeWithTheSyncForms()
    {
        var manager = _store.Open();
        await manager.WriteAsync(new Counter { Value = 5 });
        var counter = await manager.ReadAsync<Counter>();
        Assert.True(await manager.TryWriteAsync(new Counter { Value = 6 }, manager.Version));

        var refreshed = await manager.RefreshAsync<Counter>();

        Assert.False(manager.IsLinked(counter)); // a new plain value replaced the root
        Assert.Equal(6, refreshed.Value);
    }

    [Fact]
    public async Task ReadOrInitialize_WhenManyManagersRace_StoresExactlyOneValue()
    {
        var managers = Enumerable.Range(0, 6).Select(_ => _store.Open()).ToArray();
        var created = 0;

        var roots = await Task.WhenAll(managers.Select(m => Task.Run(() => m.ReadOrInitialize(() =>
        {
            Interlocked.Increment(ref created);
            return new Counter { Value = 100 };
        }))));

        Assert.All(roots, root => Assert.Equal(100, root.Value));
        Assert.Single(managers.Select(m => m.Version).Distinct());
        Assert.True(created >= 1);
    }

    [Fact]
    public void Version_IsPublishedTogetherWithTheState()
    {
        var a = _store.Open();
        var b = _store.OpenQuiet();
        a.Write(new Counter { Value = 1 });
        var counter = b.Read<Counter>();
        a.Read<Counter>().Value = 2;

        b.Refresh();

        Assert.Equal(a.Version, b.Version);
        Assert.Equal(2, counter.Value);
    }

    [Fact]
    public void Write_InsideATransaction_IsRefused()
    {
        var manager = _store.Open();
        manager.Write(new Counter());
        using var transaction = manager.Transaction();

        Assert.Throws<InvalidOperationException>(() => manager.Write(new Counter()));
    }

    [Fact]
    public void Refresh_InsideATransaction_IsRefused()
    {
        var manager = _store.Open();
        manager.Write(new Counter());
        using var transaction = manager.Transaction();

        var error = Assert.Throws<InvalidOperationException>(() => manager.Refresh());
        Assert.Contains("repeatable", error.Message);
    }

    [Fact]
    public void Root_CanBeACollectionOrAScalar()
    {
        var manager = _store.Open();
        manager.Write(new List<int> { 1, 2 });
        var list = manager.Read<IList<int>>();
        list.Add(3);
        Assert.Equal([1, 2, 3], _store.OpenQuiet().Read<IList<int>>());

        manager.Write(42);
        Assert.Equal(42, manager.Read<int>());
        manager.Write("text");
        Assert.Equal("text", manager.Read());
    }

    [Fact]
    public void Dispose_StopsTheManager_AndLaterCallsSayItIsDisposed()
    {
        var manager = new Manager(_store.Backend);
        manager.Write(new Counter());
        manager.Dispose();

        Assert.Throws<ObjectDisposedException>(() => manager.Read());
    }

    [Fact]
    public void Options_AreValidated_WithTheOptionNamed()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new Manager(_store.Backend, new ManagerOptions { PollInterval = TimeSpan.Zero }));

        Assert.Contains("PollInterval", error.Message);
    }
}
