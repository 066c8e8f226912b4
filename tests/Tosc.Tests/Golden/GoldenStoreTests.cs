using System.Runtime.CompilerServices;
using Xunit;

namespace Tosc.Tests.Golden;

/// <summary>
/// Stores written by format 1 stay readable and are written again byte for byte (DESIGN.md §5). The files under
/// Golden/ were written by <see cref="Regenerate"/>; never regenerate them to make a test pass.
/// </summary>
public class GoldenStoreTests
{
    private const string RegenerateVariable = "TOSC_WRITE_GOLDEN";

    public static IEnumerable<object[]> Names => GoldenCases.Names;

    public static IEnumerable<object[]> WrittenNames => GoldenCases.WrittenNames;

    [Theory]
    [MemberData(nameof(Names))]
    public void Snapshot_OfAGoldenStore_EqualsTheExpectedGraph(string name)
    {
        var golden = GoldenCases.Get(name);
        using var manager = Open(golden);

        var snapshot = Snapshot(manager, golden.Root);

        GraphAssert.Equivalent(golden.Build(), snapshot);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void TypedRead_OfAGoldenStore_EqualsTheExpectedGraph(string name)
    {
        var golden = GoldenCases.Get(name);
        using var manager = Open(golden);

        var live = Generic(nameof(Manager.Read), golden.Root).Invoke(manager, null);

        GraphAssert.Equivalent(golden.Build(), live);
    }

    [Theory]
    [MemberData(nameof(WrittenNames))]
    public void Encoding_TheExpectedGraph_GivesTheGoldenBytes(string name)
    {
        var golden = GoldenCases.Get(name);

        var encoded = GoldenCodec.Encode(golden);

        var stored = File.ReadAllBytes(PathOf(golden));
        Assert.Equal(Convert.ToHexString(stored), Convert.ToHexString(encoded));
    }

    [Fact]
    public void EverySupersededGoldenStore_NamesACaseThatIsStillWritten()
    {
        foreach (var golden in GoldenCases.All.Where(c => c.SupersededBy is not null))
            Assert.Null(GoldenCases.Get(golden.SupersededBy!).SupersededBy);
    }

    [Fact]
    public void EveryGoldenFile_HasACase()
    {
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Golden"), "*.tosc").Select(Path.GetFileName).Order();

        Assert.Equal(GoldenCases.All.Select(c => c.FileName).Order(), files);
    }

    /// <summary>
    /// Writes the golden files into the source tree when TOSC_WRITE_GOLDEN=1 (only for a new format or case). Superseded
    /// stores are history: what an earlier release wrote, which this one no longer writes.
    /// </summary>
    [Fact]
    public void Regenerate()
    {
        if (Environment.GetEnvironmentVariable(RegenerateVariable) != "1")
            return;
        var directory = SourceDirectory();
        foreach (var golden in GoldenCases.All.Where(c => c.SupersededBy is null))
            File.WriteAllBytes(Path.Combine(directory, golden.FileName), GoldenCodec.Encode(golden));
    }

    private static Manager Open(GoldenCase golden)
    {
        var backend = new InprocBackend();
        backend.Write(File.ReadAllBytes(PathOf(golden)), Guid.NewGuid());
        var options = new ManagerOptions
        {
            WatchForChanges = false,
            Protection = golden.Protected ? GoldenCodec.Protection() : null,
        };
        foreach (var type in golden.KnownTypes ?? [])
            options.KnownTypes.Add(type);
        return new Manager(backend, options);
    }

    private static object? Snapshot(Manager manager, Type root) => Generic(nameof(Manager.Snapshot), root).Invoke(manager, null);

    private static System.Reflection.MethodInfo Generic(string name, Type argument) =>
        typeof(Manager).GetMethods().Single(m => m.Name == name && m.IsGenericMethod && m.GetParameters().Length == 0).MakeGenericMethod(argument);

    private static string PathOf(GoldenCase golden) => Path.Combine(AppContext.BaseDirectory, "Golden", golden.FileName);

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
