using Xunit;

namespace Tosc.Tests.Core;

[ToscType("tests.untyped-doc")]
public class UntypedDoc
{
    public virtual string Title { get; set; } = "";
    public virtual IList<int> Pages { get; set; } = new List<int>();
}

public class WithPlainCollections
{
    public virtual IList<List<int>> Rows { get; set; } = new List<List<int>>();
    public virtual IDictionary<string, HashSet<string>> Tags { get; set; } = new Dictionary<string, HashSet<string>>();
}

// Read-only declarations: a record with a concrete List or Dictionary is refused (issue 16, RecordValueTests).
public record PlainRecord(IReadOnlyList<int> Numbers, IReadOnlyDictionary<string, IReadOnlyList<string>> Index);

/// <summary>Issue 10: values users write as they would with any serializer.</summary>
public class UserValueTests
{
    [Fact]
    public void Write_OfADictionaryOfLists_SucceedsAndReadsBack()
    {
        using var store = new Store();
        var manager = store.OpenQuiet();

        manager.Write(new Dictionary<string, List<int>> { ["a"] = new() { 1, 2 } });

        Assert.Equal([1, 2], manager.Read<IDictionary<string, List<int>>>()["a"]);
        Assert.Equal([1, 2], store.OpenQuiet().Read<IDictionary<string, List<int>>>()["a"]);
    }

    [Fact]
    public void Snapshot_AsConcreteCollections_OfADictionaryOfLists()
    {
        using var store = new Store();
        store.OpenQuiet().Write(new Dictionary<string, List<int>> { ["a"] = new() { 1, 2 } });

        var snapshot = store.OpenQuiet().Snapshot<Dictionary<string, List<int>>>();

        Assert.Equal([1, 2], snapshot["a"]);
    }

    [Fact]
    public void NestedConcreteCollections_InsideEachOtherAndInsideUserClasses_RoundTrip()
    {
        using var store = new Store();
        var manager = store.OpenQuiet();
        manager.Write(new List<Dictionary<string, HashSet<int>>> { new() { ["x"] = [1, 2] } });
        Assert.Equal([1, 2], store.OpenQuiet().Snapshot<List<Dictionary<string, HashSet<int>>>>()[0]["x"]);

        using var second = new Store();
        manager = second.OpenQuiet();
        var holder = manager.ReadOrInitialize(() => new WithPlainCollections());
        manager.Run(() =>
        {
            holder.Rows.Add([1, 2, 3]);
            holder.Tags["t"] = ["a", "b"];
        });

        var other = second.OpenQuiet().Read<WithPlainCollections>();
        Assert.Equal([1, 2, 3], other.Rows[0]);
        Assert.Equal(["a", "b"], other.Tags["t"]);
    }

    [Fact]
    public void Records_HoldingCollections_RoundTrip()
    {
        using var store = new Store();
        store.OpenQuiet().Write(new List<PlainRecord> { new([1], new Dictionary<string, IReadOnlyList<string>> { ["k"] = ["v"] }) });

        var read = store.OpenQuiet().Read<IList<PlainRecord>>();

        Assert.Equal([1], read[0].Numbers);
        Assert.Equal(["v"], read[0].Index["k"]);
    }

    [Fact]
    public void Write_ThatCannotBeReadBack_LeavesTheStoreUntouched()
    {
        using var store = new Store();
        var manager = store.OpenQuiet();
        manager.Write(new List<int> { 1 });
        var before = store.Backend.Read()!.Version;

        Assert.ThrowsAny<Exception>(() => manager.Write(new List<Stream> { Stream.Null }));

        Assert.Equal(before, store.Backend.Read()!.Version);
    }

    [Fact]
    public void UntypedRefresh_OnAFreshManager_ReadsAToscTypeClass()
    {
        using var store = new Store();
        store.OpenQuiet().Write(new UntypedDoc { Title = "t", Pages = [1, 2] });

        var fresh = store.OpenQuiet();
        var refreshed = Assert.IsAssignableFrom<UntypedDoc>(fresh.Refresh());
        var snapshot = Assert.IsType<UntypedDoc>(store.OpenQuiet().Snapshot());

        Assert.Equal("t", refreshed.Title);
        Assert.Equal([1, 2], snapshot.Pages);
        Assert.Equal("t", Assert.IsAssignableFrom<UntypedDoc>(store.OpenQuiet().Read()).Title);
    }

    [Fact]
    public void UntypedRead_OnAFreshManager_StillRefusesUnmarkedClasses()
    {
        using var store = new Store();
        store.OpenQuiet().Write(new Counter { Value = 1 });

        Assert.Throws<ToscDataException>(() => store.OpenQuiet().Read());
    }
}
