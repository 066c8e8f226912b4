using Tosc.Live;

namespace Tosc.Tests.Golden;

// The classes of the golden stores. Their stored names are part of the checked-in files: do not rename
// them, their namespace or their properties (the ones without [ToscType] are stored by their full name).

public enum GoldenColor
{
    Red,
    Green,
    Blue = 40,
}

public enum GoldenSize : ulong
{
    Small = 1,
    Huge = ulong.MaxValue,
}

[ToscType("golden.scalars")]
public class GoldenScalars
{
    public virtual bool Flag { get; set; }
    public virtual sbyte SByte { get; set; }
    public virtual byte Byte { get; set; }
    public virtual short Int16 { get; set; }
    public virtual ushort UInt16 { get; set; }
    public virtual int Int32 { get; set; }
    public virtual uint UInt32 { get; set; }
    public virtual long Int64 { get; set; }
    public virtual ulong UInt64 { get; set; }
    public virtual float Single { get; set; }
    public virtual double Double { get; set; }
    public virtual decimal Decimal { get; set; }
    public virtual char Char { get; set; }
    public virtual string? Text { get; set; }
    public virtual DateTime Local { get; set; }
    public virtual DateTime Utc { get; set; }
    public virtual DateTime Unspecified { get; set; }
    public virtual DateTimeOffset Offset { get; set; }
    public virtual TimeSpan Span { get; set; }
    public virtual Guid Id { get; set; }
    public virtual GoldenColor Color { get; set; }
    public virtual GoldenSize Size { get; set; }
    public virtual int? Maybe { get; set; }
    public virtual int? Nothing { get; set; }
    public virtual byte[]? Blob { get; set; }
    public virtual byte[]? NoBlob { get; set; }
}

[ToscType("golden.node")]
public class GoldenNode
{
    public virtual string Name { get; set; } = "";
    public virtual GoldenNode? Next { get; set; }
    public virtual IList<GoldenNode> Children { get; set; } = new List<GoldenNode>();
    public virtual IList<int>? Shared { get; set; }
    public virtual object? Anything { get; set; }
}

[ToscType("golden.special")]
[ToscKnownType(typeof(GoldenSpecialNode))]
public class GoldenBase
{
    public virtual int Level { get; set; }
}

[ToscType("golden.special-node")]
public class GoldenSpecialNode : GoldenBase
{
    public virtual string Extra { get; set; } = "";
}

[ToscType("golden.point")]
public record GoldenPoint(int X, int Y);

/// <summary>Stored by its full .NET name (no [ToscType]), generic arguments included.</summary>
public record GoldenPair<TLeft, TRight>(TLeft Left, TRight Right);

[ToscType("golden.money")]
public struct GoldenMoney
{
    public decimal Amount { get; set; }
    public string Currency { get; set; }
}

[ToscType("golden.holder")]
public class GoldenHolder
{
    public virtual IDictionary<string, IList<ISet<int>>> Nested { get; set; } = new Dictionary<string, IList<ISet<int>>>();
    public virtual IList<string> EmptyList { get; set; } = new List<string>();
    public virtual IDictionary<int, string> EmptyDict { get; set; } = new Dictionary<int, string>();
    public virtual ISet<string> EmptySet { get; set; } = new HashSet<string>();
    public virtual IList<string>? NullList { get; set; }
    public virtual DByteArray Bytes { get; set; } = new();
    public virtual IList<byte> ByteList { get; set; } = new List<byte>();
    public virtual int[]? Numbers { get; set; }
    public virtual string[]? Words { get; set; }
    public virtual GoldenPoint? Where { get; set; }
    public virtual GoldenPair<int, string>? Pair { get; set; }
    public virtual GoldenMoney Price { get; set; }
    public virtual GoldenBase? Special { get; set; }
    public virtual IList<GoldenBase> Mixed { get; set; } = new List<GoldenBase>();
    public virtual IDictionary<GoldenColor, double> ByColor { get; set; } = new Dictionary<GoldenColor, double>();
    public virtual IDictionary<Guid, DateTime> ByGuid { get; set; } = new Dictionary<Guid, DateTime>();
}
