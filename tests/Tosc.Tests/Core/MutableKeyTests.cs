using Tosc.Serialization;
using Xunit;

namespace Tosc.Tests.Core;

public class Tagged
{
    public virtual string Name { get; set; } = "";
}

public record Coordinates(int X, int Y);

public class KeyedRegistry
{
    public virtual IDictionary<Tagged, int> ByObject { get; set; } = new Dictionary<Tagged, int>();
    public virtual ISet<Tagged> Members { get; set; } = new HashSet<Tagged>();
    public virtual IDictionary<Coordinates, string> ByPlace { get; set; } = new Dictionary<Coordinates, string>();
    public virtual ISet<Coordinates> Places { get; set; } = new HashSet<Coordinates>();
}

/// <summary>Keys and set elements that could change once stored are refused; immutable ones work; old stores stay usable.</summary>
public sealed class MutableKeyTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void AMutableObject_AsANewKeyOrElement_IsRefused_AndTheStoreIsUnchanged()
    {
        var manager = _store.Open();
        manager.Write(new KeyedRegistry());
        var registry = manager.Read<KeyedRegistry>();
        var version = manager.Version;

        var key = Assert.Throws<ArgumentException>(() => registry.ByObject[new Tagged { Name = "a" }] = 1);
        Assert.Contains("cannot be a dictionary key", key.Message, StringComparison.Ordinal);
        Assert.Contains("Tagged", key.Message, StringComparison.Ordinal);
        var element = Assert.Throws<ArgumentException>(() => registry.Members.Add(new Tagged()));
        Assert.Contains("cannot be a set element", element.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => registry.ByObject = new Dictionary<Tagged, int> { [new Tagged()] = 1 });
        Assert.Throws<ArgumentException>(() => manager.Write(new KeyedRegistry { Members = new HashSet<Tagged> { new() } }));

        Assert.Equal(version, manager.Version);
        Assert.Empty(_store.OpenQuiet().Read<KeyedRegistry>().ByObject);
    }

    [Fact]
    public void ImmutableKeysAndElements_Work()
    {
        var manager = _store.Open();
        manager.Write(new KeyedRegistry { Places = new HashSet<Coordinates> { new(0, 0) } });
        var registry = manager.Read<KeyedRegistry>();

        registry.ByPlace[new Coordinates(1, 2)] = "home";
        registry.Places.Add(new Coordinates(3, 4));

        var stored = _store.OpenQuiet().Read<KeyedRegistry>();
        Assert.Equal("home", stored.ByPlace[new Coordinates(1, 2)]);
        Assert.True(stored.Places.SetEquals([new Coordinates(0, 0), new Coordinates(3, 4)]));
    }

    [Fact]
    public void AStoreWrittenBeforeTheRule_WithMutableKeys_StaysReadableAndWritable()
    {
        // What an earlier release could store: an object as a dictionary key and as a set element.
        var old = new KeyedRegistry();
        old.ByObject[new Tagged { Name = "k" }] = 1;
        old.Members.Add(new Tagged { Name = "m" });
        _store.Backend.Write(new EncodeContext(owner: null, new TypeRegistry()).Encode(Codecs.For(typeof(KeyedRegistry)), old).ToArray(), Guid.NewGuid());

        var manager = _store.Open();
        var registry = manager.Read<KeyedRegistry>();
        var existing = registry.ByObject.Keys.Single();
        registry.ByObject[existing] = 2;             // an existing key: allowed
        registry.ByPlace[new Coordinates(0, 0)] = "x"; // other changes: allowed

        var stored = _store.OpenQuiet().Read<KeyedRegistry>();
        Assert.Equal(("k", 2), (stored.ByObject.Keys.Single().Name, stored.ByObject.Values.Single()));
        Assert.Equal("m", stored.Members.Single().Name);
        Assert.Equal("x", stored.ByPlace[new Coordinates(0, 0)]);
    }
}
