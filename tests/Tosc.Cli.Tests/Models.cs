namespace Tosc.Tests.Tool;

// The application's classes: the tests write stores with them; the tool reads them back without them.
[ToscType("Demo.Inventory")]
public class Inventory
{
    public virtual IDictionary<string, int> Stock { get; set; } = new Dictionary<string, int>();

    public virtual IList<Item> Items { get; set; } = new List<Item>();

    public virtual ISet<string> Tags { get; set; } = new HashSet<string>();

    public virtual IList<string> Log { get; set; } = new List<string>();

    public virtual DCounter Visits { get; set; } = new();

    public virtual decimal Price { get; set; }

    public virtual IDictionary<Guid, decimal> Discounts { get; set; } = new Dictionary<Guid, decimal>();

    public virtual byte[]? Photo { get; set; }

    public virtual Item? Featured { get; set; }
}

[ToscType("Demo.Item")]
public class Item
{
    public virtual string Name { get; set; } = "";

    public virtual int Limit { get; set; }
}
