using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Core;

public class Ledger
{
    public virtual IList<int> Entries { get; set; } = new List<int>();
    public virtual IDictionary<int, int> ByKey { get; set; } = new Dictionary<int, int>();
    public virtual ISet<int> Members { get; set; } = new HashSet<int>();
}

/// <summary>Enumerating a live collection while someone else changes it never throws, and sees whole commits only.</summary>
public sealed class EnumerationTests : IDisposable
{
    private const int Commits = 300;
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Enumerations_WhileTheWatcherAppliesAnotherManagersCommits_NeverThrow_AndSeeWholeCommits()
    {
        var reader = _store.Open();
        var writer = _store.OpenQuiet();
        writer.Write(new Ledger());
        var mine = reader.Read<Ledger>();
        var theirs = writer.Read<Ledger>();

        // Every commit keeps each collection summing to zero: a half-applied commit would show a non-zero sum.
        var writing = Task.Run(() =>
        {
            for (var i = 1; i <= Commits; i++)
            {
                var n = i;
                writer.Run(() =>
                {
                    theirs.Entries.Add(n);
                    theirs.Entries.Add(-n);
                    theirs.ByKey[n] = n;
                    theirs.ByKey[-n] = -n;
                    theirs.Members.Add(n);
                    theirs.Members.Add(-n);
                    if (n % 3 == 0)
                    {
                        theirs.Entries.RemoveAt(0);
                        theirs.Entries.RemoveAt(0);
                        theirs.ByKey.Remove(n - 1);
                        theirs.ByKey.Remove(1 - n);
                        theirs.Members.Remove(n - 1);
                        theirs.Members.Remove(1 - n);
                    }
                });
            }
        });
        var passes = 0;
        while (!writing.IsCompleted || passes < 10)
        {
            Assert.Equal(0, mine.Entries.Sum());
            Assert.Equal(0, mine.ByKey.Sum(pair => pair.Value));
            Assert.Equal(0, mine.Members.Sum());
            passes++;
        }
        await writing;
        Eventually.True(() => mine.Entries.Count == theirs.Entries.Count, "the reader catching up");
    }

    [Fact]
    public async Task Enumerations_WhileAnotherThreadsTransactionsChangeTheSameManager_NeverThrow()
    {
        var manager = _store.Open();
        manager.Write(new Ledger());
        var ledger = manager.Read<Ledger>();
        var writing = Task.Run(() =>
        {
            for (var i = 1; i <= Commits; i++)
            {
                var n = i;
                manager.Run(() =>
                {
                    ledger.Entries.Add(n);
                    ledger.ByKey[n] = n;
                    ledger.Members.Add(n);
                    if (n % 2 == 0)
                    {
                        ledger.Entries.RemoveAt(0);
                        ledger.ByKey.Remove(n - 1);
                        ledger.Members.Remove(n - 1);
                    }
                });
            }
        });
        var passes = 0;
        while (!writing.IsCompleted || passes < 10)
        {
            // Uncommitted changes of the other thread may show (README, Threads); an exception may not.
            foreach (var entry in ledger.Entries)
                Assert.True(entry > 0);
            foreach (var (key, value) in ledger.ByKey)
                Assert.Equal(key, value);
            foreach (var member in ledger.Members)
                Assert.True(member > 0);
            passes++;
        }
        await writing;
        Assert.Equal(Commits / 2, ledger.Entries.Count);
    }

    [Fact]
    public void ChangingACollectionWhileEnumeratingIt_OnTheSameThread_EnumeratesTheContentItStartedWith()
    {
        var manager = _store.Open();
        manager.Write(new Ledger { Entries = [1, 2, 3] });
        var entries = manager.Read<Ledger>().Entries;

        var seen = new List<int>();
        foreach (var entry in entries)
        {
            seen.Add(entry);
            if (entry == 1)
                entries.Add(4);
        }

        Assert.Equal([1, 2, 3], seen);
        Assert.Equal([1, 2, 3, 4], entries);
        Assert.Equal([1, 2, 3, 4], _store.OpenQuiet().Read<Ledger>().Entries);
    }
}
