namespace Tosc.Cli.Graph;

/// <summary>What a stored value is, as far as the wire format tells without the application's types.</summary>
internal enum GKind
{
    Null,
    Bool,
    Int,
    UInt,
    Float32,
    Float64,
    String,
    Bin,
    Ext,
    Enum,
    List,
    Dict,
    Set,
    Bytes,
    Object,
    ValueObject,
    Array,
    Counter,
}

/// <summary>
/// One value of a stored graph, decoded without the application's types: scalars as they are stored, nodes (lists,
/// dictionaries, sets, byte arrays, objects, counters) with their id, objects by their stored type name and members.
/// Nodes are mutable so a log record can change them in place; a node shared by reference is one instance.
/// </summary>
internal sealed class GValue
{
    private GValue(GKind kind) => Kind = kind;

    public GKind Kind { get; private set; }

    /// <summary>bool, long (Int, Counter), ulong, float, double, string, byte[] (Bin, Bytes, Ext payload), or null.</summary>
    public object? Scalar { get; set; }

    /// <summary>The extension type of an <see cref="GKind.Ext"/> scalar (decimal, dates, Guid, tagged integers).</summary>
    public sbyte ExtType { get; private set; }

    /// <summary>The stored type name of an object, value object or enum.</summary>
    public string? TypeName { get; private set; }

    /// <summary>The node id (0: no identity, as inside immutable values).</summary>
    public long Id { get; set; }

    /// <summary>Elements of a list, set or immutable array.</summary>
    public List<GValue> Items { get; private set; } = [];

    /// <summary>Entries of a dictionary, in stored order.</summary>
    public List<KeyValuePair<GValue, GValue>> Entries { get; private set; } = [];

    /// <summary>Members of an object or value object, in stored order.</summary>
    public List<KeyValuePair<string, GValue>> Members { get; private set; } = [];

    public bool IsNode => Kind is GKind.List or GKind.Dict or GKind.Set or GKind.Bytes or GKind.Object or GKind.Counter;

    /// <summary>Holds nodes or values nested inside it (a walk descends into it).</summary>
    public bool IsContainer => Kind is GKind.List or GKind.Dict or GKind.Set or GKind.Object or GKind.ValueObject or GKind.Array;

    public static readonly GValue Null = new(GKind.Null);

    public static GValue Of(GKind kind, object? scalar) => new(kind) { Scalar = scalar };

    public static GValue Extension(sbyte type, byte[] payload) => new(GKind.Ext) { ExtType = type, Scalar = payload };

    public static GValue EnumValue(string type, long value) => new(GKind.Enum) { TypeName = type, Scalar = value };

    public static GValue Node(GKind kind, long id, string? typeName = null) => new(kind) { Id = id, TypeName = typeName };

    /// <summary>Makes this node hold what <paramref name="other"/> holds (a log value naming a node this graph has).</summary>
    public void TakeContent(GValue other)
    {
        Kind = other.Kind;
        Scalar = other.Scalar;
        TypeName = other.TypeName;
        Items = other.Items;
        Entries = other.Entries;
        Members = other.Members;
    }

    public GValue? Member(string name)
    {
        foreach (var (key, value) in Members)
        {
            if (key == name)
                return value;
        }
        return null;
    }

    public int FindEntry(GValue key)
    {
        var wanted = GraphJson.KeyText(key);
        for (var i = 0; i < Entries.Count; i++)
        {
            if (GraphJson.KeyText(Entries[i].Key) == wanted)
                return i;
        }
        return -1;
    }

    public int FindItem(GValue element)
    {
        var wanted = GraphJson.KeyText(element);
        return Items.FindIndex(item => GraphJson.KeyText(item) == wanted);
    }

    /// <summary>A short name of the kind for messages ("a dictionary", "an object of type Demo.Item").</summary>
    public string Describe() => Kind switch
    {
        GKind.Object or GKind.ValueObject => $"an object of type {TypeName}",
        GKind.Enum => $"an enum value of type {TypeName}",
        GKind.List => "a list",
        GKind.Dict => "a dictionary",
        GKind.Set => "a set",
        GKind.Bytes => "a byte array",
        GKind.Counter => "a counter",
        GKind.Array => "an immutable array",
        GKind.Null => "null",
        GKind.Bool => "a boolean",
        GKind.Int or GKind.UInt => "an integer",
        GKind.Float32 or GKind.Float64 => "a number",
        GKind.String => "a string",
        GKind.Bin => "binary data",
        _ => $"a {GraphJson.ExtName(ExtType)}",
    };
}
