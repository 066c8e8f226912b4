using Xunit;

namespace Tosc.Tests.Core;

public sealed class ValueTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void EverySupportedValue_RoundTripsThroughAnotherManager_WithItsTypeAndKind()
    {
        var when = new DateTime(2026, 11, 22, 10, 30, 15, 123);
        var original = new Scalars
        {
            Flag = true,
            SByte = -8,
            Byte = 250,
            Int16 = -30000,
            UInt16 = 65000,
            Int32 = int.MinValue,
            UInt32 = uint.MaxValue,
            Int64 = long.MinValue,
            UInt64 = ulong.MaxValue,
            Single = 1.5f,
            Double = Math.PI,
            Decimal = 79228162514264337593543950335m,
            Char = 'λ',
            Text = "héllo ✓",
            Local = DateTime.SpecifyKind(when, DateTimeKind.Local),
            Utc = DateTime.SpecifyKind(when, DateTimeKind.Utc),
            Unspecified = when,
            Offset = new DateTimeOffset(when, TimeSpan.FromHours(5.5)),
            Span = TimeSpan.FromTicks(123456789),
            Id = Guid.NewGuid(),
            Color = Color.Blue,
            Maybe = 7,
            Nothing = null,
            Blob = [1, 2, 3],
            Numbers = [4, 5],
            Where = new Point(1, 2),
            Price = new Money { Amount = 1.25m, Currency = "EUR" },
        };
        _store.Open().Write(original);

        var seen = _store.OpenQuiet().Read<Scalars>();

        Assert.Equal(original.Flag, seen.Flag);
        Assert.Equal((original.SByte, original.Byte, original.Int16, original.UInt16), (seen.SByte, seen.Byte, seen.Int16, seen.UInt16));
        Assert.Equal((original.Int32, original.UInt32, original.Int64, original.UInt64), (seen.Int32, seen.UInt32, seen.Int64, seen.UInt64));
        Assert.Equal((original.Single, original.Double, original.Decimal, original.Char), (seen.Single, seen.Double, seen.Decimal, seen.Char));
        Assert.Equal(original.Text, seen.Text);
        Assert.Equal((DateTimeKind.Local, DateTimeKind.Utc, DateTimeKind.Unspecified), (seen.Local.Kind, seen.Utc.Kind, seen.Unspecified.Kind));
        Assert.Equal((original.Local, original.Utc, original.Unspecified), (seen.Local, seen.Utc, seen.Unspecified));
        Assert.Equal(original.Offset, seen.Offset);
        Assert.Equal(original.Offset.Offset, seen.Offset.Offset);
        Assert.Equal((original.Span, original.Id, original.Color), (seen.Span, seen.Id, seen.Color));
        Assert.Equal((7, (int?)null), (seen.Maybe, seen.Nothing));
        Assert.Equal(original.Blob, seen.Blob);
        Assert.Equal(original.Numbers, seen.Numbers);
        Assert.Equal(original.Where, seen.Where);
        Assert.Equal(1.25m, seen.Price!.Amount);
    }

    [Fact]
    public void ObjectTypedMembers_KeepTheTypeOfWhatTheyHold()
    {
        var a = _store.Open(new ManagerOptions { KnownTypes = { typeof(Item), typeof(Color) } });
        a.Write(new Scalars());
        var root = a.Read<Scalars>();
        root.Mixed.Add(1);
        root.Mixed.Add(2L);
        root.Mixed.Add((short)3);
        root.Mixed.Add((byte)4);
        root.Mixed.Add(5u);
        root.Mixed.Add(6UL);
        root.Mixed.Add('c');
        root.Mixed.Add(1.5);
        root.Mixed.Add(2.5f);
        root.Mixed.Add("s");
        root.Mixed.Add(null);
        root.Mixed.Add(true);
        root.Mixed.Add(3.5m);
        root.Mixed.Add(Color.Green);
        root.Mixed.Add(new Item { Name = "boxed" });
        root.Mixed.Add(long.MaxValue);

        var seen = _store.Open(new ManagerOptions { KnownTypes = { typeof(Item), typeof(Color) } }).Read<Scalars>().Mixed;

        Assert.Equal(
            [typeof(int), typeof(long), typeof(short), typeof(byte), typeof(uint), typeof(ulong), typeof(char), typeof(double), typeof(float), typeof(string), null, typeof(bool), typeof(decimal), typeof(Color)],
            seen.Take(14).Select(v => v?.GetType()));
        Assert.Equal("boxed", Assert.IsAssignableFrom<Item>(seen[14]).Name);
        Assert.Equal(long.MaxValue, seen[15]);
    }

    [Fact]
    public void StoredTypeThatIsNotAllowed_IsRejected_NamingTheType()
    {
        var writer = _store.Open(new ManagerOptions { KnownTypes = { typeof(Item) } });
        writer.Write(new Scalars { Anything = new Item() });

        var error = Assert.Throws<ToscDataException>(() => _store.OpenQuiet().Read<Scalars>());

        Assert.Contains(typeof(Item).FullName!, error.Message);
        Assert.Contains("KnownTypes", error.Message);
    }

    [Fact]
    public void ToscTypeName_LetsAStoredTypeBeRenamed()
    {
        _store.Open().Write(new Named { Value = 3 });

        var stored = _store.Backend.Read()!.Data.ToArray();

        Assert.Contains("stable-name", System.Text.Encoding.UTF8.GetString(stored));
        Assert.Equal(3, _store.OpenQuiet().Read<Named>().Value);
    }

    [Fact]
    public void Snapshot_ReturnsPlainDetachedObjectsOfTheOriginalTypes()
    {
        var a = _store.Open();
        a.Write(new Inventory { Items = [new Item { Name = "x", Notes = ["n"] }], Tags = new HashSet<string> { "t" } });
        var live = a.Read<Inventory>();

        var copy = a.Snapshot<Inventory>();
        copy.Items[0].Name = "changed locally";
        live.Log.Add("after snapshot");

        Assert.Equal(typeof(Inventory), copy.GetType());
        Assert.Equal(typeof(Item), copy.Items[0].GetType());
        Assert.IsType<List<Item>>(copy.Items);
        Assert.IsType<Dictionary<string, int>>(copy.Stock);
        Assert.IsType<HashSet<string>>(copy.Tags);
        Assert.IsType<List<string>>(copy.Items[0].Notes);
        Assert.Empty(copy.Log);
        Assert.Equal("x", live.Items[0].Name);
        Assert.False(a.IsLinked(copy));
    }

    [Fact]
    public void Snapshot_InsideATransaction_ShowsItsUncommittedChanges()
    {
        var a = _store.Open();
        a.Write(new Counter { Value = 1 });
        var counter = a.Read<Counter>();

        using var transaction = a.Transaction();
        counter.Value = 2;

        Assert.Equal(2, a.Snapshot<Counter>().Value);
    }

    [ToscType("stable-name")]
    public class Named
    {
        public virtual int Value { get; set; }
    }
}

public sealed class NestingTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void DeepButAllowedNesting_RoundTrips()
    {
        var root = Chain(200);
        _store.Open().Write(root);

        var seen = _store.OpenQuiet().Read<TreeNode>();

        var depth = 0;
        for (var node = seen; node.Children.Count > 0; node = node.Children[0])
            depth++;
        Assert.Equal(199, depth);
    }

    [Fact]
    public void NestingThroughCollectionsPastWhatOneThreadHolds_RoundTrips_AndPastMaxDepthIsRefusedClearly()
    {
        // 400 objects each holding the next in a list: 800 levels, more than a call stack takes inline (512).
        var manager = _store.Open();
        manager.Write(Chain(400));
        var node = _store.OpenQuiet().Read<TreeNode>();
        var depth = 1;
        while (node.Children.Count > 0)
        {
            node = node.Children[0];
            depth++;
        }
        Assert.Equal(400, depth);

        var limited = _store.Open(new ManagerOptions { MaxDepth = 600 });
        var error = Assert.Throws<ToscDataException>(() => limited.Write(Chain(400)));
        Assert.Contains("600 levels", error.Message, StringComparison.Ordinal);
    }

    private static TreeNode Chain(int length)
    {
        var root = new TreeNode { Label = "0" };
        var current = root;
        for (var i = 1; i < length; i++)
        {
            var next = new TreeNode { Label = i.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            current.Children.Add(next);
            current = next;
        }
        return root;
    }
}
