using Xunit;

namespace Tosc.Tests.Fuzz;

/// <summary>
/// Core bugs found while building the fuzzer, kept as failing cases for the lead to unskip once fixed.
/// (The decoder itself survived 100,000 hostile inputs per run: every one ended in success or ToscDataException.)
/// </summary>
public class KnownCoreBugTests
{
    [Fact]
    public void RefreshTyped_OnAManagerThatHasNotReadYet_ReadsAsTheGivenType()
    {
        using var store = new InprocBackend();
        using var writer = new Manager(store, new ManagerOptions { WatchForChanges = false });
        writer.Write(new List<int> { 1, 2 });
        using var reader = new Manager(store, new ManagerOptions { WatchForChanges = false });

        var list = reader.Refresh<IList<int>>();

        Assert.Equal([1, 2], list);
    }
}
