using System.Collections.Immutable;
using Tosc.Serialization;
using Xunit;
using Tosc.Tests.Serialization;
using static Tosc.Tests.Serialization.MessagePackTestKit;
using MessagePackWriter = MessagePack.MessagePackWriter;

namespace Tosc.Tests.Core;

public record TaggedValue(string Name, IList<int> Numbers, ISet<string> Tags, IDictionary<string, int> Counts, IReadOnlyList<byte> Bytes);

public record NestedValue(IReadOnlyList<IList<int>> Rows, TaggedValue? Inner);

public record NumbersAsList(List<int> Numbers);

public record NumbersAsReadOnlyList(IReadOnlyList<int> Numbers);

public record DictionaryOfLists(IReadOnlyDictionary<string, List<string>> Index);

public record BlobAsArray(byte[] Data, int[] Numbers);

public record BlobAsImmutableArray(ImmutableArray<byte> Data, ImmutableArray<int> Numbers);

public record LoopValue(IList<object?> Items);

public record SettableValue(int X)
{
    public int Y { get; set; }
}

public class ValueHolder
{
    public virtual TaggedValue? Tagged { get; set; }
    public virtual IList<TaggedValue> All { get; set; } = new List<TaggedValue>();
    public virtual object? Anything { get; set; }
    public virtual NumbersAsList? Numbers { get; set; }
}

/// <summary>
/// Issue 16: a record is an immutable value, replaced whole, so nothing inside one may change in place: such a change
/// would show in this process and never be stored.
/// </summary>
public sealed class RecordValueTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void CollectionsInsideARecordReadFromTheStore_AreReadOnly()
    {
        _store.OpenQuiet().Write(Tagged([1, 2]));

        var read = _store.OpenQuiet().Read<TaggedValue>();

        Assert.Equal([1, 2], read.Numbers);
        Assert.Throws<NotSupportedException>(() => read.Numbers.Add(3));
        Assert.Throws<NotSupportedException>(() => read.Tags.Add("new"));
        Assert.Throws<NotSupportedException>(() => read.Counts["new"] = 1);
        Assert.Throws<NotSupportedException>(() => ((IList<byte>)read.Bytes)[0] = 9);
        Assert.Equal([1, 2], _store.OpenQuiet().Read<TaggedValue>().Numbers);
    }

    [Fact]
    public void CollectionsNestedInARecord_AreReadOnlyAtEveryLevel()
    {
        _store.OpenQuiet().Write(new List<NestedValue> { new([new List<int> { 1 }], Tagged([5])) });

        var read = _store.OpenQuiet().Read<IList<NestedValue>>()[0];

        Assert.Throws<NotSupportedException>(() => read.Rows[0].Add(2));
        Assert.Throws<NotSupportedException>(() => read.Inner!.Numbers.Add(6));
    }

    [Fact]
    public void RecordAssignedToALiveObject_HoldsItsOwnReadOnlyCopy_SoTheCallersListCannotChangeIt()
    {
        var manager = _store.OpenQuiet();
        var holder = manager.ReadOrInitialize(() => new ValueHolder());
        var numbers = new List<int> { 1 };
        var value = Tagged(numbers);

        holder.Tagged = value;
        holder.All.Add(value);
        holder.Anything = value;
        numbers.Add(2); // the caller's list, after the record was stored

        foreach (var held in new[] { holder.Tagged!, holder.All[0], (TaggedValue)holder.Anything! })
        {
            Assert.Equal([1], held.Numbers);
            Assert.Throws<NotSupportedException>(() => held.Numbers.Add(3));
        }
        Assert.Equal([1], _store.OpenQuiet().Read<ValueHolder>().Tagged!.Numbers);
    }

    [Fact]
    public void UntypedCollectionsInsideARecord_ReadBackReadOnly_CanBeWrittenAgain()
    {
        // Inside a record, a list, dictionary or set held as object comes back as a read-only wrapper
        // (ReadOnlyCollection, ReadOnlyDictionary, ReadOnlySet): writing what was read must not refuse those types.
        var options = new ManagerOptions { WatchForChanges = false, KnownTypes = { typeof(LoopValue) } };
        var first = _store.Open(options);
        var holder = first.ReadOrInitialize(() => new ValueHolder());
        holder.Anything = new LoopValue([new List<object?> { 1, "a" }, new Dictionary<object, object?> { ["k"] = 2L }, new HashSet<object?> { "s" }, new byte[] { 7 }]);

        var read = (LoopValue)_store.Open(options).Read<ValueHolder>().Anything!;
        Assert.IsType<System.Collections.ObjectModel.ReadOnlyCollection<object?>>(read.Items[0]);

        using var copy = new Store();
        copy.Open(options).Write(new ValueHolder { Anything = read });
        var again = (LoopValue)copy.Open(options).Read<ValueHolder>().Anything!;
        Assert.Equal([1, "a"], (IEnumerable<object?>)again.Items[0]!);
        Assert.Equal(2L, ((IReadOnlyDictionary<object, object?>)again.Items[1]!)["k"]);
        Assert.Equal(["s"], (IEnumerable<object?>)again.Items[2]!);
        Assert.Equal(new byte[] { 7 }, again.Items[3]);
        Assert.Equal(read.Items.Count, ((LoopValue)_store.Open(options).Snapshot<ValueHolder>().Anything!).Items.Count);
    }

    [Fact]
    public void RecordMadeCyclicThroughItsOwnList_ThrowsWhenAssigned_InsteadOfOverflowingTheStack()
    {
        var manager = _store.Open(new ManagerOptions { WatchForChanges = false, KnownTypes = { typeof(LoopValue) } });
        var holder = manager.ReadOrInitialize(() => new ValueHolder());
        var items = new List<object?>();
        var loop = new LoopValue(items);
        items.Add(loop);

        var error = Assert.Throws<ArgumentException>(() => holder.Anything = loop);

        Assert.Contains("cyclic", error.Message, StringComparison.Ordinal);
        Assert.Null(holder.Anything);
    }

    [Fact]
    public void Write_OfARecordWithAConcreteList_ThrowsNamingTheMemberAndTheDeclarationToUse()
    {
        var manager = _store.OpenQuiet();

        var error = Assert.Throws<ArgumentException>(() => manager.Write(new NumbersAsList([1])));

        Assert.Contains("NumbersAsList.Numbers", error.Message, StringComparison.Ordinal);
        Assert.Contains("IReadOnlyList<System.Int32>", error.Message, StringComparison.Ordinal);
        Assert.Null(_store.Backend.Read());
    }

    [Fact]
    public void Write_OfARecordWithAListInsideADictionary_ThrowsNamingTheWholeDeclarationToUse()
    {
        var error = Assert.Throws<ArgumentException>(() => _store.OpenQuiet().Write(new DictionaryOfLists(new Dictionary<string, List<string>>())));

        Assert.Contains("IReadOnlyDictionary<System.String, IReadOnlyList<System.String>>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_OfARecordWithArrays_ThrowsSuggestingImmutableArray()
    {
        var error = Assert.Throws<ArgumentException>(() => _store.OpenQuiet().Write(new BlobAsArray([1], [2])));

        Assert.Contains("BlobAsArray.Data", error.Message, StringComparison.Ordinal);
        Assert.Contains("ImmutableArray<System.Byte>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Assigning_ARecordWithAConcreteList_ToALiveObject_ThrowsAndChangesNothing()
    {
        var manager = _store.OpenQuiet();
        var holder = manager.ReadOrInitialize(() => new ValueHolder());
        var version = manager.Version;

        var error = Assert.Throws<ArgumentException>(() => holder.Numbers = new NumbersAsList([1]));

        Assert.Contains("NumbersAsList.Numbers", error.Message, StringComparison.Ordinal);
        Assert.Null(holder.Numbers);
        Assert.Equal(version, _store.Backend.Read()!.Version);
    }

    [Fact]
    public void Write_OfARecordWithAPublicSetter_ThrowsNamingTheMember()
    {
        var error = Assert.Throws<ArgumentException>(() => _store.OpenQuiet().Write(new SettableValue(1) { Y = 2 }));

        Assert.Contains("SettableValue.Y", error.Message, StringComparison.Ordinal);
        Assert.Contains("init", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StoredRecordWithAList_ReadWithAConcreteListDeclaration_ThrowsNamingTheMember_AndWithAReadOnlyOneReadsTheSameBytes()
    {
        // A record's list is a list node whatever the member's declared list type (docs/wire-format.md): what a release
        // that allowed List<int> here wrote.
        Store(StoredRecord(typeof(NumbersAsList), static (ref MessagePackWriter w) => { w.WriteMapHeader(1); w.Write("Numbers"); ListOfOneAndTwo(ref w); }));
        var error = Assert.Throws<ToscDataException>(() => _store.OpenQuiet().Read<NumbersAsList>());
        Assert.Contains("NumbersAsList.Numbers", error.Message, StringComparison.Ordinal);

        Store(StoredRecord(typeof(NumbersAsReadOnlyList), static (ref MessagePackWriter w) => { w.WriteMapHeader(1); w.Write("Numbers"); ListOfOneAndTwo(ref w); }));
        Assert.Equal([1, 2], _store.OpenQuiet().Read<NumbersAsReadOnlyList>().Numbers);
    }

    [Fact]
    public void ImmutableArrays_InARecord_RoundTrip_AndReadWhatArraysWrote()
    {
        var value = new BlobAsImmutableArray([1, 2, 3], [4, 5]);
        _store.OpenQuiet().Write(value);
        var read = _store.OpenQuiet().Read<BlobAsImmutableArray>();
        Assert.Equal([1, 2, 3], read.Data.ToArray());
        Assert.Equal([4, 5], read.Numbers.ToArray());

        // byte[] as bin and int[] as an immutable array node (docs/wire-format.md): what a release that allowed arrays here wrote.
        Store(StoredRecord(typeof(BlobAsImmutableArray), static (ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.Write("Data");
            w.Write(new byte[] { 7, 8 });
            w.Write("Numbers");
            w.WriteArrayHeader(3);
            w.WriteExtension(WireFormat.ArrayValue, [0]);
            w.Write(9);
            w.Write(10);
        }));
        var old = _store.OpenQuiet().Read<BlobAsImmutableArray>();
        Assert.Equal([7, 8], old.Data.ToArray());
        Assert.Equal([9, 10], old.Numbers.ToArray());
    }

    private static TaggedValue Tagged(List<int> numbers) =>
        new("t", numbers, new HashSet<string> { "a" }, new Dictionary<string, int> { ["k"] = 1 }, new List<byte> { 1 });

    private void Store(byte[] bytes) => _store.Backend.Write(bytes, Guid.NewGuid());

    /// <summary>A whole stored value holding one immutable object of <paramref name="type"/>, stored by its full name.</summary>
    private static byte[] StoredRecord(Type type, WriterAction members) => Encode((ref MessagePackWriter w) =>
    {
        WireFormat.WriteHeader(ref w);
        w.WriteArrayHeader(3);
        w.WriteExtension(WireFormat.ValueObject, [0]);
        w.Write(type.FullName);
        members(ref w);
    });

    private static void ListOfOneAndTwo(ref MessagePackWriter w)
    {
        w.WriteArrayHeader(3);
        w.WriteExtension(WireFormat.ListNode, new byte[8]); // inside an immutable value a node has no identity: id 0
        w.Write(1);
        w.Write(2);
    }
}
