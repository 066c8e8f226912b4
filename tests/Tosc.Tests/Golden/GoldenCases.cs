using System.Text;
using Tosc.Live;

namespace Tosc.Tests.Golden;

/// <summary>
/// One golden store: the file it lives in, its declared root type, and the graph it holds. <paramref name="SupersededBy"/>
/// names the case whose file holds what Tosc writes for this graph today, when a later release changed the encoding:
/// such a file is still read, never written again.
/// </summary>
public sealed record GoldenCase(string Name, Type Root, Func<object?> Build, bool Protected = false, Type[]? KnownTypes = null, string? SupersededBy = null)
{
    public string FileName => Name + ".tosc";

    public override string ToString() => Name;
}

/// <summary>The graphs of the golden stores: together they reach every path of the format-1 codec.</summary>
public static class GoldenCases
{
    /// <summary>The fixed key of protected.tosc (authenticated with HMAC-SHA256, which is deterministic).</summary>
    public static readonly byte[] ProtectionKey = [.. Enumerable.Range(1, 32).Select(i => (byte)(i * 7))];

    public static readonly GoldenCase[] All =
    [
        new("null", typeof(object), static () => null),
        // Written when a local DateTime was stored as the writer's clock reading (kind byte 2); now it is its UTC instant.
        new("scalars", typeof(GoldenScalars), Scalars, SupersededBy: "scalars-local-instant"),
        new("scalars-local-instant", typeof(GoldenScalars), ScalarsWithLocalInstant),
        new("scalars-extremes", typeof(GoldenScalars), Extremes),
        new("object-members", typeof(IList<object?>), ObjectMembers, KnownTypes: [typeof(GoldenColor), typeof(GoldenSize), typeof(GoldenPoint), typeof(GoldenNode)]),
        new("strings", typeof(IList<string?>), Strings),
        new("bytes", typeof(IList<object?>), Bytes),
        new("collections", typeof(GoldenHolder), Collections),
        new("references", typeof(GoldenNode), References),
        new("large", typeof(IDictionary<string, GoldenNode>), Large),
        new("protected", typeof(GoldenScalars), Scalars, Protected: true, SupersededBy: "protected-local-instant"),
        new("protected-local-instant", typeof(GoldenScalars), ScalarsWithLocalInstant, Protected: true),
    ];

    public static GoldenCase Get(string name) => All.Single(c => c.Name == name);

    public static IEnumerable<object[]> Names => All.Select(c => new object[] { c.Name });

    /// <summary>The cases whose bytes Tosc still writes.</summary>
    public static IEnumerable<object[]> WrittenNames => All.Where(c => c.SupersededBy is null).Select(c => new object[] { c.Name });

    private static GoldenScalars Scalars() => new()
    {
        Flag = true,
        SByte = -5,
        Byte = 200,
        Int16 = -30_000,
        UInt16 = 60_000,
        Int32 = 123_456_789,
        UInt32 = 4_000_000_000,
        Int64 = -9_000_000_000,
        UInt64 = 18_000_000_000_000_000_000,
        Single = 1.25f,
        Double = -2.5e300,
        Decimal = 12345.6789m,
        Char = 'é',
        Text = "héllo wörld 😀",
        Local = new DateTime(2024, 2, 29, 13, 14, 15, 123, DateTimeKind.Local),
        Utc = new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc).AddTicks(9),
        Unspecified = new DateTime(1999, 12, 31, 23, 59, 59),
        Offset = new DateTimeOffset(2023, 6, 7, 8, 9, 10, TimeSpan.FromMinutes(-330)),
        Span = TimeSpan.FromTicks(-1_234_567_890_123),
        Id = new Guid("0f8fad5b-d9cb-469f-a165-70867728950e"),
        Color = GoldenColor.Blue,
        Size = GoldenSize.Huge,
        Maybe = -1,
        Nothing = null,
        Blob = [0, 1, 2, 254, 255],
        NoBlob = null,
    };

    /// <summary>
    /// The scalars with a local time made from a fixed instant, so the stored UTC ticks are the same in every time zone
    /// (and a reader anywhere sees that instant on its own clock).
    /// </summary>
    private static GoldenScalars ScalarsWithLocalInstant()
    {
        var scalars = Scalars();
        scalars.Local = new DateTime(2024, 2, 29, 13, 14, 15, 123, DateTimeKind.Utc).ToLocalTime();
        return scalars;
    }

    private static GoldenScalars Extremes() => new()
    {
        SByte = sbyte.MinValue,
        Byte = byte.MaxValue,
        Int16 = short.MinValue,
        UInt16 = ushort.MaxValue,
        Int32 = int.MinValue,
        UInt32 = uint.MaxValue,
        Int64 = long.MinValue,
        UInt64 = ulong.MaxValue,
        Single = float.NaN,
        Double = double.NegativeInfinity,
        Decimal = decimal.MinValue,
        Char = char.MaxValue,
        Text = "",
        Local = DateTime.MinValue,
        Utc = DateTime.MaxValue,
        Unspecified = default,
        Offset = DateTimeOffset.MaxValue,
        Span = TimeSpan.MinValue,
        Id = Guid.Empty,
        Color = (GoldenColor)(-7),
        Size = GoldenSize.Small,
        Maybe = int.MaxValue,
        Blob = [],
    };

    private static List<object?> ObjectMembers() =>
    [
        null, true, false, 0, 1, -1, 127, 128, -32, -33, 255, 256, 65_535, 65_536, int.MaxValue, int.MinValue,
        5L, (long)int.MaxValue + 1, long.MinValue, long.MaxValue,
        (sbyte)-8, (byte)8, (short)-300, (ushort)300, 7u, uint.MaxValue, 9ul, ulong.MaxValue, 'x', '\uffff',
        1.5f, 2.75, double.NaN, 0.1m, -79228162514264337593543950335m,
        new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc), new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.FromHours(14)),
        TimeSpan.FromDays(1), new Guid("00112233-4455-6677-8899-aabbccddeeff"),
        GoldenColor.Green, GoldenSize.Small, "text", new byte[] { 1, 2, 3 },
        new List<object?> { 1, "two", null },
        new Dictionary<object, object?> { ["key"] = 1, [2] = "two", [3L] = null },
        new HashSet<object?> { 1, "one" },
        new object?[] { 1, "a", null },
        new GoldenPoint(3, 4),
        new GoldenNode { Name = "inside object" },
    ];

    private static List<string?> Strings() =>
    [
        "", "a", "plain ASCII", null, "héllo", "中文字符", "😀🎉 emoji", "\u0000 nul and \u007f del",
        "é" + new string('x', 30), new string('y', 31), new string('z', 32), // fixstr / str 8 boundary
        new string('w', 255), new string('v', 256), // str 8 / str 16
        new string('€', 21_845), new string('€', 21_846), // 65,535 and 65,538 bytes: str 16 / str 32
        string.Concat(Enumerable.Repeat("Grüße, 世界! ", 500)),
    ];

    private static List<object?> Bytes()
    {
        var large = new byte[70_000];
        for (var i = 0; i < large.Length; i++)
            large[i] = (byte)(i * 31);
        var node = new DByteArray(large.AsSpan(0, 300));
        return [Array.Empty<byte>(), new byte[] { 7 }, large[..255], large[..256], large[..65_535], large[..65_536], large, node, new DByteArray()];
    }

    private static GoldenHolder Collections()
    {
        var bytes = new DByteArray([9, 8, 7]);
        return new GoldenHolder
        {
            Nested = new Dictionary<string, IList<ISet<int>>>
            {
                ["a"] = new List<ISet<int>> { new HashSet<int> { 1, 2, 3 }, new HashSet<int>() },
                ["empty"] = new List<ISet<int>>(),
                ["ünï"] = new List<ISet<int>> { new HashSet<int> { -1, int.MaxValue } },
            },
            NullList = null,
            Bytes = bytes,
            ByteList = new List<byte> { 1, 2, 3 },
            Numbers = [1, -2, 300_000],
            Words = ["one", "two"],
            Where = new GoldenPoint(-1, 2),
            Pair = new GoldenPair<int, string>(42, "answer"),
            Price = new GoldenMoney { Amount = 9.99m, Currency = "EUR" },
            Special = new GoldenSpecialNode { Level = 3, Extra = "known type" },
            Mixed = new List<GoldenBase> { new() { Level = 1 }, new GoldenSpecialNode { Level = 2, Extra = "x" } },
            ByColor = new Dictionary<GoldenColor, double> { [GoldenColor.Red] = 0.5, [GoldenColor.Blue] = -1 },
            ByGuid = new Dictionary<Guid, DateTime> { [new Guid("11111111-2222-3333-4444-555555555555")] = new DateTime(2001, 1, 1) },
        };
    }

    private static GoldenNode References()
    {
        var shared = new List<int> { 1, 2, 3 };
        var root = new GoldenNode { Name = "root", Shared = shared };
        var child = new GoldenNode { Name = "child", Next = root, Shared = shared };
        var other = new GoldenNode { Name = "other", Next = child, Anything = shared };
        root.Children = new List<GoldenNode> { child, other, child };
        root.Next = root;
        root.Anything = other;
        return root;
    }

    private static Dictionary<string, GoldenNode> Large()
    {
        var result = new Dictionary<string, GoldenNode>();
        var text = new StringBuilder();
        for (var i = 0; i < 2_000; i++)
        {
            text.Append(i % 10);
            var node = new GoldenNode { Name = $"node {i} {text.ToString(0, i % 50)}", Anything = i % 3 == 0 ? i * 1_000_003L : $"v{i}" };
            for (var j = 0; j < i % 4; j++)
                node.Children.Add(new GoldenNode { Name = $"{i}.{j}", Shared = new List<int> { i, j } });
            result.Add($"key-{i:D5}", node);
        }
        return result;
    }
}
