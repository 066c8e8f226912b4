namespace Tosc.Tests.Core;

public class Inventory
{
    public virtual IDictionary<string, int> Stock { get; set; } = new Dictionary<string, int>();
    public virtual IList<string> Log { get; set; } = new List<string>();
    public virtual Settings Settings { get; set; } = new();
    public virtual IList<Item> Items { get; set; } = new List<Item>();
    public virtual ISet<string> Tags { get; set; } = new HashSet<string>();
}

public class Settings
{
    public virtual string Currency { get; set; } = "EUR";
    public virtual int Precision { get; set; } = 2;
}

public class Item
{
    public virtual string Name { get; set; } = "";
    public virtual int Count { get; set; }
    public virtual IList<string> Notes { get; set; } = new List<string>();
}

public class Counter
{
    public virtual long Value { get; set; }
}

public class Scalars
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
    public virtual Color Color { get; set; }
    public virtual int? Maybe { get; set; }
    public virtual int? Nothing { get; set; }
    public virtual byte[]? Blob { get; set; }
    public virtual int[]? Numbers { get; set; }
    public virtual Point Where { get; set; } = new(0, 0);
    public virtual Money? Price { get; set; }
    public virtual object? Anything { get; set; }
    public virtual IList<object?> Mixed { get; set; } = new List<object?>();
    public virtual DByteArray Bytes { get; set; } = new();
}

public enum Color
{
    Red,
    Green,
    Blue = 40,
}

public record Point(int X, int Y);

public sealed class Money
{
    public decimal Amount { get; init; }
    public string Currency { get; init; } = "";
}

public struct Pair
{
    public int Left { get; set; }
    public int Right { get; set; }
}

public class Zoo
{
    public virtual IList<Animal> Animals { get; set; } = new List<Animal>();
    public virtual Animal? Star { get; set; }
}

[ToscKnownType(typeof(Dog))]
[ToscKnownType(typeof(Cat))]
public class Animal
{
    public virtual string Name { get; set; } = "";
}

public class Dog : Animal
{
    public virtual bool GoodBoy { get; set; } = true;
}

public class Cat : Animal
{
    public virtual int Lives { get; set; } = 9;
}

public class TreeNode
{
    public virtual string Label { get; set; } = "";
    public virtual IList<TreeNode> Children { get; set; } = new List<TreeNode>();
    public virtual TreeNode? Parent { get; set; }
}

public class WithGetOnlyCollection
{
    public virtual IList<string> Names { get; } = new List<string>();
}

public class NotVirtual
{
    public string Name { get; set; } = "";
}

public class ConcreteList
{
    public virtual List<string> Names { get; set; } = [];
}

public sealed class SealedThing
{
    public string Name { get; set; } = "";
}

public class WithIgnored
{
    public virtual int Kept { get; set; }

    [ToscIgnore]
    public int Local { get; set; }

    public int Computed => Kept * 2;
}

public class Registry
{
    public virtual IDictionary<string, Item> ByName { get; set; } = new Dictionary<string, Item>();
    public virtual IList<Item> Ordered { get; set; } = new List<Item>();
}

public interface IStockService
{
    [Transactional(Retries = 50)]
    void Restock(string item, int count);

    [Transactional(Retries = 50)]
    Task RestockAsync(string item, int count);

    [Transactional(Retries = 50)]
    Task<int> TakeAsync(string item);

    [Transactional(Retries = 50)]
    ValueTask<int> PeekAsync(string item);

    [Transactional]
    int Fail(string message);

    int Untracked(string item);
}

public class StockService(Inventory inventory, Action? onCall = null) : IStockService
{
    public int Calls { get; private set; }

    public void Restock(string item, int count)
    {
        Calls++;
        onCall?.Invoke();
        inventory.Stock[item] = inventory.Stock.TryGetValue(item, out var have) ? have + count : count;
    }

    public async Task RestockAsync(string item, int count)
    {
        Calls++;
        await Task.Yield();
        onCall?.Invoke();
        inventory.Stock[item] = inventory.Stock.TryGetValue(item, out var have) ? have + count : count;
    }

    public async Task<int> TakeAsync(string item)
    {
        Calls++;
        await Task.Yield();
        onCall?.Invoke();
        var left = inventory.Stock[item] - 1;
        inventory.Stock[item] = left;
        return left;
    }

    public ValueTask<int> PeekAsync(string item) => new(inventory.Stock[item]);

    public int Fail(string message)
    {
        Calls++;
        inventory.Log.Add("before failure");
        throw new InvalidOperationException(message);
    }

    public int Untracked(string item) => inventory.Stock[item];
}

public class WithPublicField
{
    public int Hits;

    public virtual string Name { get; set; } = "";
}

public class WithIgnoredField
{
    [ToscIgnore]
    public int LocalOnly;

    public virtual string Name { get; set; } = "";
}

public class WithPrivateSetter
{
    public virtual string Name { get; private set; } = "";

    public void Rename(string name) => Name = name;
}

public class WithValidatingSetter
{
    private int _count;

    public virtual int Count
    {
        get => _count;
        set => _count = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }
}

public class Drawing
{
    public virtual object? Shape { get; set; }

    public virtual IList<object> Layers { get; set; } = new List<object>();
}

public class Circle
{
    public virtual int Radius { get; set; }
}
