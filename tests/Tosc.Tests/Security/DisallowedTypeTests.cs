using System.Reflection;
using System.Text;
using Xunit;
using static Tosc.Tests.Security.SecurityTestKit;

namespace Tosc.Tests.Security;

/// <summary>The root of the stores these tests forge: one object-typed member that can name any type.</summary>
public class Holder
{
    public virtual object? Payload { get; set; }

    public virtual IList<object?> Items { get; set; } = new List<object?>();
}

/// <summary>An allowed type whose stored name the tests replace.</summary>
public class Decoy
{
    public virtual string Text { get; set; } = "";
}

/// <summary>A type no manager registers. If anything ran its static or instance constructor, <see cref="GadgetFlags"/> says so.</summary>
public class Gadget
{
    static Gadget() => GadgetFlags.TypeInitialized = true;

    public Gadget() => GadgetFlags.Constructed = true;

    public virtual string Text { get; set; } = "";
}

/// <summary>Kept apart from <see cref="Gadget"/>: reading a static of Gadget itself would run its static constructor.</summary>
public static class GadgetFlags
{
    public static volatile bool TypeInitialized;
    public static volatile bool Constructed;
}

/// <summary>A stored value that names a type the manager does not allow is refused before the type is loaded or built (issue 7).</summary>
public class DisallowedTypeTests
{
    private const string DecoyName = "Tosc.Tests.Security.Decoy";

    [Theory]
    [InlineData("Tosc.Tests.Security.Gadget")]
    [InlineData("System.Diagnostics.Process")]
    [InlineData("System.Diagnostics.Process, System.Diagnostics.Process, Version=10.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a")]
    [InlineData("Evil.Gadget, Evil.Assembly")]
    [InlineData("System.Windows.Data.ObjectDataProvider, PresentationFramework")]
    public void Read_OfAStoreNamingATypeThatIsNotAllowed_ThrowsWithoutLoadingOrBuildingIt(string name)
    {
        using var backend = new InprocBackend();
        backend.Write(Forge(name, inList: false), Guid.NewGuid());
        using var reader = new Manager(backend, Options(null));
        // Other tests run in parallel and load assemblies of their own: watch only for the named one.
        var assembly = name.Contains(',', StringComparison.Ordinal) ? name.Split(',')[1].Trim() : name;
        var loads = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void OnLoad(object? sender, AssemblyLoadEventArgs e)
        {
            if (e.LoadedAssembly.GetName().Name == assembly)
                loads.Enqueue(e.LoadedAssembly.FullName ?? "?");
        }
        Assembly? OnResolve(object? sender, ResolveEventArgs e)
        {
            if (e.Name.Contains(assembly, StringComparison.Ordinal) || e.Name.Contains("Gadget", StringComparison.Ordinal))
                loads.Enqueue("resolve " + e.Name);
            return null;
        }
        AppDomain.CurrentDomain.AssemblyLoad += OnLoad;
        AppDomain.CurrentDomain.AssemblyResolve += OnResolve;
        AppDomain.CurrentDomain.TypeResolve += OnResolve;
        ToscDataException e;
        try
        {
            e = Assert.Throws<ToscDataException>(() => reader.Read<Holder>());
        }
        finally
        {
            AppDomain.CurrentDomain.AssemblyLoad -= OnLoad;
            AppDomain.CurrentDomain.AssemblyResolve -= OnResolve;
            AppDomain.CurrentDomain.TypeResolve -= OnResolve;
        }

        Assert.Contains($"'{name}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not allow", e.Message, StringComparison.Ordinal);
        Assert.Contains("KnownTypes", e.Message, StringComparison.Ordinal);
        Assert.Empty(loads);
        Assert.False(GadgetFlags.TypeInitialized, "the Gadget static constructor ran");
        Assert.False(GadgetFlags.Constructed, "a Gadget was constructed");
        Assert.Null(reader.Version);
    }

    [Fact]
    public void Read_OfANotAllowedTypeDeepInsideACollection_ThrowsAndAppliesNothing()
    {
        using var backend = new InprocBackend();
        using var writer = new Manager(backend, new ManagerOptions { WatchForChanges = false, KnownTypes = { typeof(Decoy) } });
        writer.Write(new Holder { Payload = "fine" });
        using var reader = new Manager(backend, Options(null));
        var live = reader.Read<Holder>();
        var version = reader.Version;

        backend.Write(Forge("Tosc.Tests.Security.Gadget", inList: true), Guid.NewGuid());

        Assert.Throws<ToscDataException>(() => reader.Refresh<Holder>());
        Assert.Equal("fine", live.Payload);
        Assert.Equal(version, reader.Version);
        Assert.False(GadgetFlags.TypeInitialized, "the Gadget static constructor ran");
        Assert.False(GadgetFlags.Constructed, "a Gadget was constructed");
    }

    [Fact]
    public void Read_OfAStoreNamingTheTypeUntyped_ThrowsToo()
    {
        using var backend = new InprocBackend();
        backend.Write(Forge("Tosc.Tests.Security.Gadget", inList: false), Guid.NewGuid());
        using var reader = new Manager(backend, Options(null));

        // Read() without a type: the root is read as object, so even the root's own name must be allowed.
        var e = Assert.Throws<ToscDataException>(() => reader.Read());
        Assert.Contains("does not allow", e.Message, StringComparison.Ordinal);
        Assert.False(GadgetFlags.TypeInitialized, "the Gadget static constructor ran");
    }

    [Fact]
    public void Read_WhenTheTypeIsRegisteredByKnownTypes_ReadsIt()
    {
        // The control for the tests above: the forged bytes are well formed, only the allow-list refuses them.
        using var backend = new InprocBackend();
        backend.Write(Forge(DecoyName, inList: false), Guid.NewGuid());
        using var reader = new Manager(backend, new ManagerOptions { WatchForChanges = false, KnownTypes = { typeof(Decoy) } });

        var decoy = Assert.IsAssignableFrom<Decoy>(reader.Read<Holder>().Payload);
        Assert.Equal("bait", decoy.Text);
    }

    /// <summary>A well-formed store whose Holder holds a Decoy, with the Decoy's stored type name replaced by <paramref name="name"/>.</summary>
    private static byte[] Forge(string name, bool inList)
    {
        using var backend = new InprocBackend();
        using var writer = new Manager(backend, new ManagerOptions { WatchForChanges = false, KnownTypes = { typeof(Decoy) } });
        var holder = new Holder();
        if (inList)
            holder.Items.Add(new Decoy { Text = "bait" });
        else
            holder.Payload = new Decoy { Text = "bait" };
        writer.Write(holder);
        return ReplaceString(Stored(backend), DecoyName, name);
    }

    private static byte[] ReplaceString(byte[] data, string old, string replacement)
    {
        var from = MsgPackString(old);
        var at = data.AsSpan().IndexOf(from);
        Assert.True(at >= 0, $"'{old}' is not in the encoded store");
        return [.. data[..at], .. MsgPackString(replacement), .. data[(at + from.Length)..]];
    }

    private static byte[] MsgPackString(string value)
    {
        var utf8 = Encoding.UTF8.GetBytes(value);
        return utf8.Length < 32 ? [(byte)(0xa0 | utf8.Length), .. utf8] : [0xd9, (byte)utf8.Length, .. utf8];
    }
}
