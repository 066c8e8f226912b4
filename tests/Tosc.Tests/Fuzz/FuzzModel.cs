namespace Tosc.Tests.Fuzz;

// The shapes the decoder fuzzer stores: every codec the format has, nested, with shared references.

public enum FuzzColor
{
    Red,
    Green,
    Blue,
}

public record FuzzPoint(int X, int Y, string? Tag);

public class FuzzBase
{
    public virtual string Kind { get; set; } = "base";
}

public class FuzzDerived : FuzzBase
{
    public virtual double Weight { get; set; }
}

public class FuzzChild
{
    public virtual string Label { get; set; } = "";

    public virtual IList<int> Values { get; set; } = new List<int>();

    public virtual FuzzChild? Next { get; set; }
}

public class FuzzRoot
{
    public virtual string? Name { get; set; }

    public virtual int Count { get; set; }

    public virtual long Big { get; set; }

    public virtual ulong Unsigned { get; set; }

    public virtual short Small { get; set; }

    public virtual char Letter { get; set; }

    public virtual bool Flag { get; set; }

    public virtual double Ratio { get; set; }

    public virtual float Single { get; set; }

    public virtual decimal Price { get; set; }

    public virtual DateTime When { get; set; }

    public virtual DateTimeOffset At { get; set; }

    public virtual TimeSpan Span { get; set; }

    public virtual Guid Id { get; set; }

    public virtual FuzzColor Color { get; set; }

    public virtual FuzzColor? MaybeColor { get; set; }

    public virtual int? MaybeCount { get; set; }

    public virtual byte[]? Blob { get; set; }

    public virtual IList<byte> LiveBytes { get; set; } = new List<byte>();

    public virtual IList<FuzzChild> Children { get; set; } = new List<FuzzChild>();

    public virtual IDictionary<string, FuzzChild> ByName { get; set; } = new Dictionary<string, FuzzChild>();

    public virtual IDictionary<int, IList<string>> Nested { get; set; } = new Dictionary<int, IList<string>>();

    public virtual IDictionary<Guid, decimal> Prices { get; set; } = new Dictionary<Guid, decimal>();

    public virtual ISet<string> Tags { get; set; } = new HashSet<string>();

    public virtual ISet<long> Numbers { get; set; } = new HashSet<long>();

    public virtual FuzzPoint? Point { get; set; }

    public virtual FuzzPoint[]? Points { get; set; }

    public virtual int[]? Ints { get; set; }

    public virtual FuzzChild? Shared { get; set; }

    public virtual FuzzBase? Poly { get; set; }

    public virtual object? Anything { get; set; }

    public virtual IList<object?> Mixed { get; set; } = new List<object?>();
}
