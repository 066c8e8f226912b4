using Tosc;

// Two managers over one in-process store: think of them as two threads, or (with the file or
// Redis backend) two processes. Changes made through one show up, in place, in the other.
using var store = new InprocBackend();
using var a = new Manager(store);
using var b = new Manager(store);

var inventory = a.ReadOrInitialize(() => new Inventory());
var seenByB = b.Read<Inventory>();

using (var tx = a.Transaction())
{
    inventory.Stock["apples"] = 3;
    inventory.Log.Add("restock");
    tx.Commit(); // one atomic compare-and-swap
}

Console.WriteLine($"b sees {b.Refresh<Inventory>().Stock["apples"]} apples (same object: {ReferenceEquals(seenByB, b.Read<Inventory>())})");

inventory.Log.Add("implicit"); // outside a transaction: commits at once
a.Run(() => inventory.Stock["apples"] += 1, retries: 10); // reruns on conflict

var service = a.Transactional<IStockService>(new StockService(inventory));
service.Sell("apples", 2);

b.Refresh();
Console.WriteLine($"b sees {seenByB.Stock["apples"]} apples; log: {string.Join(", ", seenByB.Log)}; version {b.Version}");
var copy = b.Snapshot<Inventory>();
Console.WriteLine($"snapshot is a plain {copy.GetType().Name} with a {copy.Stock.GetType().Name}");

public class Inventory
{
    public virtual IDictionary<string, int> Stock { get; set; } = new Dictionary<string, int>();
    public virtual IList<string> Log { get; set; } = new List<string>();
    public virtual Settings Settings { get; set; } = new();
}

public class Settings
{
    public virtual string Currency { get; set; } = "EUR";
}

public interface IStockService
{
    [Transactional(Retries = 10)]
    void Sell(string item, int count);
}

public class StockService(Inventory inventory) : IStockService
{
    public void Sell(string item, int count)
    {
        if (inventory.Stock[item] < count)
            throw new InvalidOperationException($"Only {inventory.Stock[item]} {item} left.");
        inventory.Stock[item] -= count;
        inventory.Log.Add($"sold {count} {item}");
    }
}
