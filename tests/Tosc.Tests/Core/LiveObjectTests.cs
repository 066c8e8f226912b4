using Xunit;

namespace Tosc.Tests.Core;

public sealed class LiveObjectTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void ItemAddedAfterTheFirstWrite_BecomesLiveAndItsChangesAreTracked()
    {
        var a = _store.Open();
        var b = _store.OpenQuiet();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();

        inventory.Items.Add(new Item { Name = "pear" });
        var added = inventory.Items[0];
        added.Count = 7;
        added.Notes.Add("ripe");

        Assert.NotEqual(typeof(Item), added.GetType());
        Assert.IsType<DList<string>>(added.Notes);
        var seen = b.Read<Inventory>().Items[0];
        Assert.Equal(("pear", 7, "ripe"), (seen.Name, seen.Count, seen.Notes[0]));
    }

    [Fact]
    public void ReplacedChildObject_BecomesLive_AndTheOldOneIsUnlinked()
    {
        var a = _store.Open();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();
        var old = inventory.Settings;

        inventory.Settings = new Settings { Currency = "USD" };
        inventory.Settings.Precision = 4;

        Assert.True(a.IsLinked(inventory.Settings));
        Assert.False(a.IsLinked(old));
        var seen = _store.OpenQuiet().Read<Inventory>().Settings;
        Assert.Equal(("USD", 4), (seen.Currency, seen.Precision));
    }

    [Fact]
    public void NewDCollection_IsAdoptedNotCopied_SoTheCallersReferenceStaysLive()
    {
        var a = _store.Open();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();
        var log = new DList<string> { "first" };

        inventory.Log = log;
        log.Add("second");

        Assert.Same(log, inventory.Log);
        Assert.Equal(["first", "second"], _store.OpenQuiet().Read<Inventory>().Log);
    }

    [Fact]
    public void ClassWithANonVirtualProperty_IsRefusedAtWrite_NamingTheMember()
    {
        var manager = _store.Open();

        var error = Assert.Throws<ArgumentException>(() => manager.Write(new NotVirtual()));

        Assert.Contains("NotVirtual.Name", error.Message);
        Assert.Contains("virtual", error.Message);
        Assert.Null(manager.Version);
    }

    [Fact]
    public void ClassWithAPublicField_IsRefusedAtWrite_InsteadOfLosingTheField()
    {
        var manager = _store.Open();

        var error = Assert.Throws<ArgumentException>(() => manager.Write(new WithPublicField { Hits = 3 }));

        Assert.Contains("WithPublicField.Hits", error.Message);
        Assert.Contains("public field", error.Message);
        Assert.Null(manager.Version); // issue 16: refused, nothing stored
    }

    [Fact]
    public void APublicFieldMarkedToscIgnore_IsLeftOut()
    {
        var manager = _store.Open();

        manager.Write(new WithIgnoredField { LocalOnly = 3, Name = "kept" });

        Assert.Equal("kept", _store.OpenQuiet().Read<WithIgnoredField>().Name);
    }

    [Fact]
    public void ClassWithAPrivateSetter_IsRefusedAtWrite_InsteadOfKeepingTheOldValueSilently()
    {
        var manager = _store.Open();

        var error = Assert.Throws<ArgumentException>(() => manager.Write(new WithPrivateSetter()));

        Assert.Contains("WithPrivateSetter.Name", error.Message);
        Assert.Contains("setter is not public", error.Message);
        Assert.Null(manager.Version);
    }

    [Fact]
    public void ClassWithAccessorCode_IsRefusedAtWrite_InsteadOfBypassingIt()
    {
        var manager = _store.Open();

        var error = Assert.Throws<ArgumentException>(() => manager.Write(new WithValidatingSetter()));

        Assert.Contains("WithValidatingSetter.Count", error.Message);
        Assert.Contains("accessor code", error.Message);
        Assert.Null(manager.Version);
    }

    [Fact]
    public void AWriteToARootReplacedByAnotherManagersWrite_Throws_AndStoresNothing()
    {
        var a = _store.Open();
        var b = _store.OpenQuiet();
        a.Write(new Inventory());
        var old = a.Read<Inventory>();
        b.Write(new Inventory { Log = { "new root" } });
        a.Refresh();

        var error = Assert.Throws<InvalidOperationException>(() => old.Log.Add("lost"));

        Assert.Contains("no longer linked", error.Message);
        Assert.Equal(["new root"], _store.OpenQuiet().Read<Inventory>().Log);
    }

    [Fact]
    public void AWriteToAChildRemovedByAnotherManager_Throws_AndStoresNothing()
    {
        var a = _store.Open();
        var b = _store.OpenQuiet();
        a.Write(new Inventory { Items = { new Item { Name = "gone", Notes = { "n" } } } });
        var item = a.Read<Inventory>().Items[0];
        var notes = item.Notes;
        b.Read<Inventory>().Items.RemoveAt(0); // a delta commit: a applies it as a record
        a.Refresh();

        var error = Assert.Throws<InvalidOperationException>(() => item.Count = 5);
        Assert.Contains("Item", error.Message);
        Assert.Throws<InvalidOperationException>(() => notes.Add("lost")); // what the removed object held, too

        Assert.Empty(_store.OpenQuiet().Read<Inventory>().Items);
    }

    [Fact]
    public void AChildRemovedHere_RefusesWrites_ButOneMovedElsewhereKeepsWorking()
    {
        var a = _store.Open();
        a.Write(new Inventory { Items = { new Item { Name = "moved" }, new Item { Name = "removed" } } });
        var inventory = a.Read<Inventory>();
        var moved = inventory.Items[0];
        var removed = inventory.Items[1];

        a.Run(() =>
        {
            inventory.Items.Add(moved);
            inventory.Items.RemoveAt(0);
            inventory.Items.Remove(removed);
        });

        moved.Count = 2; // still reachable: a write works
        Assert.Throws<InvalidOperationException>(() => removed.Count = 3);
        Assert.Equal(2, _store.OpenQuiet().Read<Inventory>().Items.Single().Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AValueOfATypeReadersWouldRefuse_IsRefusedAtTheWrite_AndTheStoreStaysReadable(bool deltaCommits)
    {
        var writer = _store.Open(new ManagerOptions { DeltaCommits = deltaCommits });
        var drawing = writer.ReadOrInitialize(() => new Drawing());

        // Circle is not reachable from Drawing: a new manager reading Drawing would refuse it (issue 16).
        var error = Assert.Throws<ArgumentException>(() => drawing.Shape = new Circle { Radius = 1 });
        Assert.Contains("Circle", error.Message);
        Assert.Contains("KnownTypes", error.Message);
        Assert.Throws<ArgumentException>(() => drawing.Layers.Add(new Circle()));

        Assert.Null(drawing.Shape);
        var fresh = _store.OpenQuiet().Read<Drawing>();
        Assert.Null(fresh.Shape);
        Assert.Empty(fresh.Layers);
    }

    [Fact]
    public void AValueOfAKnownType_InAnObjectMember_IsStoredAndReadByOthers()
    {
        ManagerOptions Known() => new() { KnownTypes = { typeof(Circle) }, WatchForChanges = false };
        var writer = _store.Open(Known());
        var drawing = writer.ReadOrInitialize(() => new Drawing());

        drawing.Shape = new Circle { Radius = 2 };

        Assert.Equal(2, Assert.IsAssignableFrom<Circle>(_store.Open(Known()).Read<Drawing>().Shape).Radius);
    }

    [Fact]
    public void ClassWithAConcreteListProperty_IsRefused_SuggestingTheInterface()
    {
        var manager = _store.Open();

        var error = Assert.Throws<ArgumentException>(() => manager.Write(new ConcreteList()));

        Assert.Contains("ConcreteList.Names", error.Message);
        Assert.Contains("IList<System.String>", error.Message);
    }

    [Fact]
    public void SealedClass_IsRefused_SayingSo()
    {
        var manager = _store.Open();
        manager.Write(new Inventory());

        var error = Assert.Throws<ArgumentException>(() => manager.Write(new List<SealedThing> { new() }));

        Assert.Contains("sealed", error.Message);
    }

    [Fact]
    public void GetOnlyVirtualCollection_IsLiveAndShared()
    {
        var a = _store.Open();
        a.Write(new WithGetOnlyCollection());
        var root = a.Read<WithGetOnlyCollection>();

        root.Names.Add("x");

        Assert.Equal(["x"], _store.OpenQuiet().Read<WithGetOnlyCollection>().Names);
    }

    [Fact]
    public void IgnoredAndComputedProperties_AreNotStored()
    {
        var a = _store.Open();
        a.Write(new WithIgnored { Kept = 2, Local = 99 });

        var seen = _store.OpenQuiet().Read<WithIgnored>();

        Assert.Equal((2, 0, 4), (seen.Kept, seen.Local, seen.Computed));
    }

    [Fact]
    public void Records_AreImmutableValues_ReplacedWhole()
    {
        var a = _store.Open();
        a.Write(new Scalars());
        var root = a.Read<Scalars>();

        root.Where = new Point(3, 4);
        root.Price = new Money { Amount = 9.5m, Currency = "EUR" };

        var seen = _store.OpenQuiet().Read<Scalars>();
        Assert.Equal(new Point(3, 4), seen.Where);
        Assert.Equal((9.5m, "EUR"), (seen.Price!.Amount, seen.Price.Currency));
    }

    [Fact]
    public void Subclasses_InABaseTypedMember_KeepTheirType()
    {
        var a = _store.Open();
        a.Write(new Zoo { Animals = [new Dog { Name = "Rex" }, new Cat { Name = "Tom", Lives = 7 }], Star = new Cat { Name = "Kit" } });

        var zoo = _store.OpenQuiet().Read<Zoo>();

        Assert.IsAssignableFrom<Dog>(zoo.Animals[0]);
        Assert.Equal(7, Assert.IsAssignableFrom<Cat>(zoo.Animals[1]).Lives);
        Assert.Equal("Kit", zoo.Star!.Name);
    }

    [Fact]
    public void SharedReferencesAndCycles_KeepTheirIdentity()
    {
        var a = _store.Open();
        var root = new TreeNode { Label = "root" };
        var child = new TreeNode { Label = "child", Parent = root };
        root.Children.Add(child);
        a.Write(root);

        var seen = _store.OpenQuiet().Read<TreeNode>();

        Assert.Same(seen, seen.Children[0].Parent);
        seen.Children[0].Parent!.Label = "renamed";
        Assert.Equal("renamed", seen.Label);
    }

    [Fact]
    public void SameLiveObjectInTwoPlaces_StaysOneObjectForOtherManagers()
    {
        var a = _store.Open();
        a.Write(new Registry());
        var registry = a.Read<Registry>();
        registry.Ordered.Add(new Item { Name = "shared" });
        var item = registry.Ordered[0];
        registry.ByName["shared"] = item;

        var seen = _store.OpenQuiet().Read<Registry>();

        Assert.Same(seen.Ordered[0], seen.ByName["shared"]);
    }

    [Fact]
    public void DByteArray_SupportsSpanWritesAppendsAndResize()
    {
        var a = _store.Open();
        a.Write(new Scalars());
        var bytes = a.Read<Scalars>().Bytes;

        bytes.Append([1, 2, 3]);
        bytes.Write(1, [9, 9, 9]);
        bytes.Resize(6);
        bytes[5] = 7;

        var seen = _store.OpenQuiet().Read<Scalars>().Bytes;
        Assert.Equal(new byte[] { 1, 9, 9, 9, 0, 7 }, seen.ToArray());
        Span<byte> part = stackalloc byte[2];
        Assert.Equal(2, seen.Read(3, part));
        Assert.Equal(new byte[] { 9, 0 }, part.ToArray());
    }

    [Fact]
    public void SetOperations_AreRecordedAsOneChange()
    {
        var a = _store.Open();
        a.Write(new Inventory { Tags = new HashSet<string> { "a", "b" } });
        var tags = a.Read<Inventory>().Tags;

        tags.UnionWith(["c", "d"]);
        tags.ExceptWith(["a"]);
        tags.Remove("b");

        Assert.True(_store.OpenQuiet().Read<Inventory>().Tags.SetEquals(["c", "d"]));
    }

    [Fact]
    public void DetachedDCollections_BehaveAsPlainCollections()
    {
        var list = new DList<int> { 1, 2 };
        list.Insert(0, 0);
        var dict = new DDict<string, int> { ["a"] = 1 };
        var set = new DSet<int> { 1, 1, 2 };

        Assert.Equal([0, 1, 2], list);
        Assert.Equal(1, dict["a"]);
        Assert.Equal(2, set.Count);
    }
}
