namespace Tosc.Tests.Tool;

/// <summary>Writes the stores the tests read with the tool, with the real library and the application's classes.</summary>
internal static class Stores
{
    /// <summary>An inventory with every kind of value, then a few commits (so the log has records).</summary>
    public static void Fill(IBackend backend, ManagerOptions? options = null)
    {
        using var manager = new Manager(backend, options ?? new ManagerOptions { WatchForChanges = false });
        var apples = new Item { Name = "apples", Limit = 10 };
        manager.Write(new Inventory
        {
            Stock = new Dictionary<string, int> { ["apples"] = 3, ["pears"] = 5 },
            Items = new List<Item> { apples, new() { Name = "pears", Limit = 20 }, new() { Name = "plums", Limit = 30 } },
            Tags = new HashSet<string> { "fruit" },
            Price = 2.50m,
            Discounts = new Dictionary<Guid, decimal> { [Guid.Empty] = 0.5m },
            Photo = [1, 2, 3],
            Featured = apples,
        });
        var inventory = manager.Read<Inventory>();
        inventory.Stock["apples"] = 4;
        inventory.Items[2].Limit = 35;
        inventory.Log.Add("restock");
        inventory.Visits.Increment(2);
    }

    /// <summary>A snapshot of the file store at <paramref name="path"/>, read with the application's classes.</summary>
    public static Inventory ReadFile(string path, ManagerOptions? options = null)
    {
        using var backend = new FileBackend(path);
        return Read(backend, options);
    }

    public static Inventory Read(IBackend backend, ManagerOptions? options = null)
    {
        using var manager = new Manager(backend, options ?? new ManagerOptions { WatchForChanges = false });
        return manager.Snapshot<Inventory>();
    }
}
