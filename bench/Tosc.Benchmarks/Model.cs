using System.Text.Json;
using Tosc.Serialization;

namespace Tosc.Benchmarks;

// The shared state the scenarios use: a small "document" that grows into a catalog with nested
// dictionaries, lists and user objects. Live classes follow Tosc's rules (public, virtual properties,
// interface-typed collections); System.Text.Json reads and writes the same classes.

public class Doc
{
    public virtual string Name { get; set; } = "bench";

    public virtual long Hits { get; set; }

    public virtual IDictionary<string, long> Counters { get; set; } = new Dictionary<string, long>();

    public virtual DCounter Merged { get; set; } = new();

    public virtual IDictionary<string, Product> Products { get; set; } = new Dictionary<string, Product>();

    public virtual IList<Order> Orders { get; set; } = new List<Order>();
}

/// <summary>A list of products, for the read scenario.</summary>
public class Catalog
{
    public virtual IList<Product> Products { get; set; } = new List<Product>();
}

public class Product
{
    public virtual string Sku { get; set; } = "";

    public virtual string Title { get; set; } = "";

    public virtual double Price { get; set; }

    public virtual int Stock { get; set; }

    public virtual IList<string> Tags { get; set; } = new List<string>();

    public virtual IDictionary<string, string> Attributes { get; set; } = new Dictionary<string, string>();
}

public class Order
{
    public virtual long Id { get; set; }

    public virtual string Customer { get; set; } = "";

    public virtual DateTime At { get; set; }

    public virtual IList<OrderLine> Lines { get; set; } = new List<OrderLine>();
}

public class OrderLine
{
    public virtual string Sku { get; set; } = "";

    public virtual int Quantity { get; set; }

    public virtual double Price { get; set; }
}

/// <summary>Builds representative plain graphs of a given encoded size, and encodes/decodes them directly with Tosc's codec.</summary>
internal static class Graphs
{
    private static readonly string[] s_tags = ["new", "sale", "eco", "bulk", "fragile", "gift", "import", "local"];

    /// <summary>A plain graph with <paramref name="products"/> products and half as many orders of three lines.</summary>
    public static Doc Build(int products, int seed = 1)
    {
        var random = new Random(seed);
        var doc = new Doc { Name = "catalog", Hits = 0 };
        for (var i = 0; i < 8; i++)
            doc.Counters[$"c{i}"] = i;
        for (var i = 0; i < products; i++)
        {
            var sku = $"SKU-{i:D6}";
            doc.Products[sku] = new Product
            {
                Sku = sku,
                Title = $"Product number {i} in the benchmark catalog",
                Price = Math.Round(random.NextDouble() * 100, 2),
                Stock = random.Next(0, 500),
                Tags = [s_tags[i % s_tags.Length], s_tags[(i * 3 + 1) % s_tags.Length]],
                Attributes = new Dictionary<string, string> { ["color"] = i % 2 == 0 ? "red" : "blue", ["size"] = (i % 5).ToString(System.Globalization.CultureInfo.InvariantCulture) },
            };
        }
        for (var i = 0; i < products / 2; i++)
        {
            var order = new Order { Id = 100_000 + i, Customer = $"customer-{i % 97}", At = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(i) };
            for (var l = 0; l < 3; l++)
                order.Lines.Add(new OrderLine { Sku = $"SKU-{(i + l) % Math.Max(products, 1):D6}", Quantity = 1 + l, Price = 9.99 + l });
            doc.Orders.Add(order);
        }
        return doc;
    }

    /// <summary>A graph whose Tosc encoding is about <paramref name="bytes"/> long (within a few percent).</summary>
    public static Doc OfSize(int bytes)
    {
        var empty = Encode(Build(0)).Length;
        var probe = Encode(Build(100)).Length;
        var perProduct = (probe - empty) / 100.0;
        var products = Math.Max(0, (int)Math.Round((bytes - empty) / perProduct));
        return Build(products);
    }

    public static byte[] Encode(Doc doc)
    {
        var writer = NewWriter();
        return Encode(writer, doc).ToArray();
    }

    public static EncodeContext NewWriter()
    {
        var registry = new TypeRegistry();
        registry.Register(typeof(Doc));
        return new EncodeContext(owner: null, registry: registry);
    }

    /// <summary>What Manager.Encode does, without a manager: header, then the root through its declared type's codec.</summary>
    public static ReadOnlyMemory<byte> Encode(EncodeContext writer, Doc doc) => writer.Encode(Codecs.For(typeof(Doc)), doc);

    public static TypeRegistry Registry()
    {
        var registry = new TypeRegistry();
        registry.Register(typeof(Doc));
        return registry;
    }

    /// <summary>What Manager.Decode does: plain objects (as Snapshot makes) or live ones owned by <paramref name="owner"/> (as Read makes).</summary>
    public static Doc Decode(ReadOnlyMemory<byte> data, TypeRegistry registry, Manager? owner)
    {
        var reader = new GraphReader(WireFormat.OpenValue(data), new DecodeContext(registry, owner, live: owner is not null));
        return (Doc)Codecs.For(typeof(Doc)).ReadBoxed(ref reader)!;
    }

    public static readonly JsonSerializerOptions Json = new();
}
