using Xunit;

namespace Tosc.Tests.Core;

/// <summary>
/// Empty collections read from a store share one empty content per type until their first change (most stay empty,
/// and each would otherwise hold an empty List or Dictionary of its own): a change to one must never show in another.
/// </summary>
public sealed class EmptyContentTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void ChangingOneEmptyCollection_LeavesEveryOtherEmptyCollectionEmpty()
    {
        _store.Open().Write(new Inventory { Items = [new Item { Name = "a" }, new Item { Name = "b" }] });
        var inventory = _store.OpenQuiet().Read<Inventory>();

        inventory.Items[0].Notes.Add("first");
        inventory.Stock["apples"] = 3;
        inventory.Tags.Add("fresh");

        Assert.Equal(["first"], inventory.Items[0].Notes);
        Assert.Empty(inventory.Items[1].Notes);
        Assert.Empty(inventory.Log);
        var other = _store.OpenQuiet().Read<Inventory>();
        Assert.Equal((1, 0, 1, 1), (other.Items[0].Notes.Count, other.Items[1].Notes.Count, other.Stock.Count, other.Tags.Count));
        other.Items[1].Notes.Add("second");
        Assert.Equal(["first"], other.Items[0].Notes);
        Assert.Equal(["second"], other.Items[1].Notes);
    }

    [Fact]
    public void AChangeRolledBack_LeavesTheCollectionEmpty_AndTheNextChangeStillGetsContentOfItsOwn()
    {
        _store.Open().Write(new Inventory { Items = [new Item(), new Item()] });
        var manager = _store.OpenQuiet();
        var inventory = manager.Read<Inventory>();

        using (manager.Transaction())
        {
            inventory.Items[0].Notes.Add("dropped");
            inventory.Stock["dropped"] = 1;
        }

        Assert.Empty(inventory.Items[0].Notes);
        Assert.Empty(inventory.Stock);
        inventory.Items[0].Notes.Add("kept");
        Assert.Equal(["kept"], inventory.Items[0].Notes);
        Assert.Empty(inventory.Items[1].Notes);
    }

    [Fact]
    public void EnumeratingAnEmptyCollection_WhileItGetsItsFirstItem_FinishesOverWhatItStartedWith()
    {
        _store.Open().Write(new Inventory());
        var inventory = _store.OpenQuiet().Read<Inventory>();

        var seen = new List<string>();
        using (var enumerator = inventory.Log.GetEnumerator())
        {
            inventory.Log.Add("added while enumerating");
            while (enumerator.MoveNext())
                seen.Add(enumerator.Current);
        }

        Assert.Empty(seen);
        Assert.Equal(["added while enumerating"], inventory.Log);
    }

    [Fact]
    public void ADetachedCollectionFromASnapshot_ChangesOnItsOwn()
    {
        _store.Open().Write(new Declared());
        var manager = _store.OpenQuiet();

        var snapshot = manager.Snapshot<Declared>();
        snapshot.Names.Add("only in the snapshot");
        snapshot.Scores["only in the snapshot"] = 1;

        Assert.Empty(manager.Snapshot<Declared>().Names);
        Assert.Empty(manager.Snapshot<Declared>().Scores);
        Assert.Empty(manager.Read<Declared>().Names);
    }

    public class Declared
    {
        public virtual DList<string> Names { get; set; } = [];

        public virtual DDict<string, int> Scores { get; set; } = [];
    }
}
