using Tosc.Testing;
using Xunit;
using static Tosc.Tests.Core.ConflictTests;

namespace Tosc.Tests.Core;

/// <summary>
/// Conflicts decided by the store (<see cref="ToscBackend.ChecksConflicts"/>): a commit that another beat is put after
/// it in the same call when that one wrote nothing the transaction read, with no log read and no second append; the
/// store refuses exactly where the core's own check would find a collision.
/// </summary>
public sealed class CheckedAppendTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Theory]
    [MemberData(nameof(ConflictTests.ReadsAgainstWrites), MemberType = typeof(ConflictTests))]
    public void TheStore_PutsACommitAfterAnother_ExactlyWhenTheCoreWouldRebaseIt(string name, Action<Inventory> read, Action<Inventory> write, string? conflictingPath)
    {
        _ = name;
        var (counted, a, mine, theirs) = TwoManagers(new CountingBackend(_store.Backend));

        var transaction = a.Transaction();
        read(mine);
        mine.Stock["mine"] = 1;
        write(theirs);
        counted.LogReads = 0;
        if (conflictingPath is null)
        {
            transaction.Commit();
            Assert.Equal(0, counted.LogReads); // placed by the store: the records it was put after came with the reply
            var expected = Sample();
            write(expected);
            expected.Stock["mine"] = 1;
            AssertSame(expected, _store.OpenQuiet().Read<Inventory>());
            AssertSame(expected, mine);
            Assert.Equal(_store.Backend.ReadVersion(), a.Version);
        }
        else
        {
            var error = Assert.Throws<TransactionConflictException>(() => transaction.Commit());
            Assert.Equal([conflictingPath], error.ConflictingPaths);
            Assert.False(_store.OpenQuiet().Read<Inventory>().Stock.ContainsKey("mine"));
            // Refused by the store, checked by the core on one log read, which the refresh then applies: a rerun sees what won.
            Assert.Equal(1, counted.LogReads);
            var won = Sample();
            write(won);
            AssertSame(won, mine);
        }
        transaction.Dispose();
    }

    [Fact]
    public void AChangeThatStoresAWholeContent_IsNotPutAfterAnotherChangeToIt_ButRebasedByTheCore()
    {
        var (counted, a, mine, theirs) = TwoManagers(new CountingBackend(_store.Backend));

        using (var transaction = a.Transaction())
        {
            ((DList<string>)mine.Log).AddRange(["m1", "m2"]); // reads nothing, but its operation holds the whole list
            theirs.Log.Add("t1");
            counted.LogReads = 0;
            transaction.Commit();
        }

        Assert.Equal(1, counted.LogReads); // refused by the store, rebased by the core, encoded anew
        Assert.Equal(["x", "y", "t1", "m1", "m2"], _store.OpenQuiet().Read<Inventory>().Log);
        Assert.Equal(["x", "y", "t1", "m1", "m2"], mine.Log);
    }

    [Fact]
    public void ACommitPutAfterAnother_WhoseReplyIsLost_IsSettledOnce_AndTheManagerShowsBoth()
    {
        var (lossy, a, mine, theirs) = TwoManagers(new LostReplyBackend(_store.Backend));

        var runs = 0;
        a.Run(() =>
        {
            runs++;
            mine.Stock["mine"] = 1;
            theirs.Log.Add("t1"); // committed first; a read nothing it wrote
            lossy.LoseNext(ReplyLoss.AfterLanding, conditionalOnly: true);
        });

        Assert.Equal((1, 1), (runs, lossy.RepliesLost)); // settled by reading back: found once, never applied again
        var stored = _store.OpenQuiet().Read<Inventory>();
        Assert.Equal(["x", "y", "t1"], stored.Log);
        Assert.Equal(1, stored.Stock["mine"]);
        Assert.Equal(["x", "y", "t1"], mine.Log); // the commit it was put after, shown under a's own change
        Assert.Equal(1, mine.Stock["mine"]);
        Assert.Equal(_store.Backend.ReadVersion(), a.Version);
    }

    [Fact]
    public void ObjectsACommitPutAfterOthersCreated_AreFoundByLaterRecords()
    {
        var (_, a, mine, theirs) = TwoManagers(new CountingBackend(_store.Backend));
        var b = _store.OpenQuiet();
        var other = b.Read<Inventory>();

        using (var transaction = a.Transaction())
        {
            mine.Items.Add(new Item { Name = "new" }); // an append reads nothing: the store puts it after theirs
            theirs.Stock["theirs"] = 1;
            transaction.Commit();
        }
        b.Refresh();
        other.Items[2].Notes.Add("from b"); // a record that names a node a's commit created
        a.Refresh();

        Assert.Equal(["from b"], mine.Items[2].Notes);
        Assert.Equal(1, mine.Stock["theirs"]);
    }

    [Fact]
    public void DisjointWriters_InManyThreads_WithDefaultOptions_NeverRerun_AndLoseNothing()
    {
        const int writers = 4, commits = 200;
        _store.Open().Write(new Inventory());
        var managers = Enumerable.Range(0, writers).Select(_ => _store.Open()).ToArray();
        var reruns = 0;

        Parallel.For(0, writers, new ParallelOptions { MaxDegreeOfParallelism = writers }, w =>
        {
            var inventory = managers[w].Read<Inventory>();
            for (var i = 1; i <= commits; i++)
            {
                var attempts = 0;
                managers[w].Run(() =>
                {
                    if (++attempts > 1)
                        Interlocked.Increment(ref reruns);
                    inventory.Stock[$"w{w}"] = i;
                    inventory.Log.Add($"{w}:{i}");
                });
            }
        });

        Assert.Equal(0, reruns);
        var stored = _store.OpenQuiet().Read<Inventory>();
        for (var w = 0; w < writers; w++)
        {
            Assert.Equal(commits, stored.Stock[$"w{w}"]);
            Assert.Equal(Enumerable.Range(1, commits).Select(i => $"{w}:{i}"), stored.Log.Where(e => e.StartsWith($"{w}:", StringComparison.Ordinal)));
        }
    }

    /// <summary>Manager a over <paramref name="backend"/> (a decorator of the store's) and manager b, both quiet, over the sample inventory.</summary>
    private (TBackend Backend, Manager A, Inventory Mine, Inventory Theirs) TwoManagers<TBackend>(TBackend backend) where TBackend : IBackend
    {
        var a = _store.Open(backend, new ManagerOptions { WatchForChanges = false });
        a.Write(Sample());
        return (backend, a, a.Read<Inventory>(), _store.OpenQuiet().Read<Inventory>());
    }

    /// <summary>Counts the log reads made through it.</summary>
    private sealed class CountingBackend(IBackend inner) : ForwardingBackend(inner)
    {
        public int LogReads;

        protected override ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref LogReads);
            return base.ReadLogCoreAsync(afterVersion, async, cancellationToken);
        }
    }
}
