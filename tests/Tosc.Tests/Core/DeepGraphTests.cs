using Xunit;

namespace Tosc.Tests.Core;

public class Link
{
    public virtual int N { get; set; }
    public virtual Link? Next { get; set; }
}

/// <summary>Deep mutable graphs (linked chains, trees) are stored and read back whole, up to ManagerOptions.MaxDepth.</summary>
public sealed class DeepGraphTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    private static Link Chain(int length)
    {
        var head = new Link { N = 0 };
        var current = head;
        for (var i = 1; i < length; i++)
            current = current.Next = new Link { N = i };
        return head;
    }

    private static (int Length, Link Tail) Walk(Link head)
    {
        var length = 1;
        var current = head;
        while (current.Next is { } next)
        {
            current = next;
            length++;
        }
        return (length, current);
    }

    [Fact]
    public void AChainOfTenThousandObjects_IsWrittenReadChangedAtItsEndAndSnapshotted()
    {
        var writer = _store.Open();
        writer.Write(Chain(10_000));
        var reader = _store.OpenQuiet();

        var (length, tail) = Walk(reader.Read<Link>());
        Assert.Equal((10_000, 9_999), (length, tail.N));
        tail.N = -1; // a change at the far end: one operation, whatever the depth
        Assert.Equal(-1, Walk(writer.Refresh<Link>()).Tail.N);
        Assert.Equal((10_000, -1), (Walk(reader.Snapshot<Link>()).Length, Walk(reader.Snapshot<Link>()).Tail.N));
        Assert.Equal(10_000, Walk(_store.OpenQuiet().Read<Link>()).Length);
    }

    [Fact]
    public void ADeepPlainChainAssignedIntoTheLiveGraph_OnASmallStack_IsAdoptedWhole()
    {
        var manager = _store.Open();
        manager.Write(new Link());
        var live = manager.Read<Link>();
        Exception? failure = null;
        // A 1 MB stack holds a few thousand levels of conversion inline; 20,000 must go to a deep thread, not crash.
        var thread = new Thread(() =>
        {
            try
            {
                live.Next = Chain(20_000);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, 1024 * 1024);
        thread.Start();
        thread.Join();

        Assert.Null(failure);
        Assert.Equal(20_001, Walk(_store.OpenQuiet().Read<Link>()).Length);
        Assert.True(manager.IsLinked(Walk(live).Tail));
    }

    [Fact]
    public void AChainDeeperThanMaxDepth_IsRefusedAtWriteNamingTheLimit_AndNothingIsStored()
    {
        var manager = _store.Open(new ManagerOptions { MaxDepth = 1_000 });

        var error = Assert.Throws<ToscDataException>(() => manager.Write(Chain(2_000)));

        Assert.Contains("1000 levels", error.Message, StringComparison.Ordinal);
        Assert.Contains("ManagerOptions.MaxDepth", error.Message, StringComparison.Ordinal);
        Assert.Null(_store.Backend.Read());
        manager.Write(Chain(900)); // within the limit
        Assert.Equal(900, Walk(_store.OpenQuiet().Read<Link>()).Length);
    }

    [Fact]
    public void AStoreDeeperThanTheReadersLimit_IsRefusedClearly()
    {
        _store.Open().Write(Chain(3_000));

        var error = Assert.Throws<ToscDataException>(() => _store.Open(new ManagerOptions { MaxDepth = 2_000 }).Read<Link>());

        Assert.Contains("stored value nests deeper than 2000 levels", error.Message, StringComparison.Ordinal);
    }
}
