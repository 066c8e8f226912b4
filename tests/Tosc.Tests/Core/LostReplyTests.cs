using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Core;

/// <summary>
/// Commits whose reply is lost. A lost reply cannot be produced with the in-process store, so a decorator
/// injects it: the fault is simulated, the store and the managers are real.
/// </summary>
public sealed class LostReplyTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void ReplyLostAfterTheWriteLanded_CountsAsCommitted_AndTheBodyRunsOnce()
    {
        var faulty = new LostReplyBackend(_store.Backend);
        using var manager = new Manager(faulty, new ManagerOptions { WatchForChanges = false });
        manager.Write(new Counter());
        var counter = manager.Read<Counter>();
        var runs = 0;

        faulty.LoseNext(ReplyLoss.AfterLanding);
        manager.Run(() =>
        {
            runs++;
            counter.Value++;
        });

        Assert.Equal(1, runs);
        Assert.Equal(1, _store.OpenQuiet().Read<Counter>().Value);
        Assert.Equal(_store.Backend.Read()!.Version, manager.Version);
    }

    [Fact]
    public void ReplyLostBeforeTheWrite_IsTriedAgainTransparently()
    {
        var faulty = new LostReplyBackend(_store.Backend);
        using var manager = new Manager(faulty, new ManagerOptions { WatchForChanges = false });
        manager.Write(new Counter());
        var counter = manager.Read<Counter>();

        faulty.LoseNext(ReplyLoss.BeforeLanding);
        counter.Value = 7;

        Assert.Equal(7, _store.OpenQuiet().Read<Counter>().Value);
    }

    [Fact]
    public void ReplyLost_ThenAnotherCommitLandsOnTop_OfAWholeStateStore_IsReportedAsUnknown_AndNeverAppliedTwice()
    {
        var (manager, inventory, faulty) = LoseAReplyUnderAnotherCommit(deltaCommits: false);
        var runs = 0;

        var error = Assert.Throws<CommitOutcomeUnknownException>(() => manager.Run(() =>
        {
            runs++;
            inventory.Log.Add("mine");
        }));

        Assert.Equal(1, runs);
        Assert.Equal(1, faulty.RepliesLost);
        Assert.False(error.IsTransient);
        Assert.Contains("cannot be told", error.Message);
        Assert.Empty(inventory.Log); // rolled back locally
        Assert.Equal(["mine", "theirs"], _store.OpenQuiet().Read<Inventory>().Log); // stored exactly once
    }

    [Fact]
    public void ReplyLost_ThenAnotherCommitLandsOnTop_OfALogStore_IsFoundInTheLog_AndCountsAsCommitted()
    {
        var (manager, inventory, faulty) = LoseAReplyUnderAnotherCommit(deltaCommits: true);
        var runs = 0;

        manager.Run(() =>
        {
            runs++;
            inventory.Log.Add("mine");
        });

        // The log keeps every commit id, so the lost reply is settled even with a newer commit on top.
        Assert.Equal(1, runs);
        Assert.Equal(1, faulty.RepliesLost);
        Assert.Equal(["mine", "theirs"], _store.OpenQuiet().Read<Inventory>().Log); // stored exactly once
        Assert.Equal(["mine", "theirs"], manager.Refresh<Inventory>().Log);
    }

    [Fact]
    public void ReadOrInitialize_WhoseFirstWriteLostItsReplyUnderAnotherCommit_ReadsWhatIsStored()
    {
        var faulty = new LostReplyBackend(_store.Backend);
        var manager = _store.Open(faulty, new ManagerOptions { WatchForChanges = false });
        var other = _store.OpenQuiet();
        faulty.AfterLanding = () => other.Read<Counter>().Value = 5;
        faulty.LoseNext(ReplyLoss.AfterLanding);

        // Whether our value or another racer's is stored, the store is initialized: that is all the call promises.
        var counter = manager.ReadOrInitialize(() => new Counter { Value = 1 });

        Assert.Equal(1, faulty.RepliesLost);
        Assert.Equal(5, counter.Value);
    }

    private (Manager Manager, Inventory Inventory, LostReplyBackend Faulty) LoseAReplyUnderAnotherCommit(bool deltaCommits)
    {
        var faulty = new LostReplyBackend(_store.Backend);
        var manager = _store.Open(faulty, new ManagerOptions { WatchForChanges = false, DeltaCommits = deltaCommits });
        manager.Write(new Inventory());
        var inventory = manager.Read<Inventory>();
        var other = _store.OpenQuiet();
        other.Read<Inventory>();
        faulty.BeforeNextRead = () => other.Refresh<Inventory>().Log.Add("theirs");
        faulty.LoseNext(ReplyLoss.AfterLanding);
        return (manager, inventory, faulty);
    }
}
