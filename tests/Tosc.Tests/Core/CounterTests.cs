using Xunit;

namespace Tosc.Tests.Core;

public class Scoreboard
{
    public virtual DCounter Visits { get; set; } = new();
    public virtual IDictionary<string, DCounter> ByPage { get; set; } = new Dictionary<string, DCounter>();
    public virtual IList<DCounter> Lanes { get; set; } = new List<DCounter>();
    public virtual string Title { get; set; } = "";
}

public sealed class CounterTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void Increments_FromTwoManagersAtOnce_MergeWithoutConflict_AndNoBodyRunsTwice()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(new Scoreboard { ByPage = { ["home"] = new DCounter(10) }, Lanes = [new DCounter(), new DCounter(5)] });
        var mine = a.Read<Scoreboard>();
        var theirs = b.Read<Scoreboard>();
        var runs = 0;

        a.Run(() =>
        {
            runs++;
            mine.Visits.Increment();
            mine.ByPage["home"].Increment(2);
            mine.Lanes[1].Increment(-1);
            if (runs == 1)
            {
                theirs.Visits.Increment(100);
                theirs.ByPage["home"].Increment(20);
                theirs.Lanes[1].Increment(-10);
            }
        });

        Assert.Equal(1, runs);
        foreach (var view in new[] { mine, _store.OpenQuiet().Read<Scoreboard>(), b.Refresh<Scoreboard>() })
        {
            Assert.Equal(101, view.Visits.Value);
            Assert.Equal(32, view.ByPage["home"].Value);
            Assert.Equal(-6, view.Lanes[1].Value);
        }
    }

    [Fact]
    public async Task ManyManagers_IncrementingOneCounterInThreads_LoseAndDoubleNothing()
    {
        const int managers = 4, increments = 50;
        var writer = _store.Open();
        writer.Write(new Scoreboard());
        var workers = Enumerable.Range(0, managers).Select(_ => Task.Run(() =>
        {
            var manager = _store.Open();
            var board = manager.Read<Scoreboard>();
            for (var i = 0; i < increments; i++)
                manager.Run(() => board.Visits.Increment());
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(managers * increments, _store.OpenQuiet().Read<Scoreboard>().Visits.Value);
    }

    [Fact]
    public void ReadingTheValue_ThenAnotherManagersIncrement_IsAConflictOnThatCounter()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(new Scoreboard());
        var mine = a.Read<Scoreboard>();

        var transaction = a.Transaction();
        if (mine.Visits.Value == 0)
            mine.Title = "first visit";
        b.Read<Scoreboard>().Visits.Increment();
        var error = Assert.Throws<TransactionConflictException>(() => transaction.Commit());
        transaction.Dispose();

        Assert.Equal(["Visits"], error.ConflictingPaths);
        Assert.Equal("", _store.OpenQuiet().Read<Scoreboard>().Title);
    }

    [Fact]
    public void Snapshot_GivesADetachedCounterHoldingTheValue_WhoseIncrementsStayLocal()
    {
        var a = _store.Open();
        a.Write(new Scoreboard { Visits = new DCounter(7) });
        a.Read<Scoreboard>().Visits.Increment(3);

        var copy = a.Snapshot<Scoreboard>();
        Assert.Equal(10, copy.Visits.Value);
        copy.Visits.Increment();

        Assert.Equal(11, copy.Visits.Value);
        Assert.Equal(10, _store.OpenQuiet().Read<Scoreboard>().Visits.Value);
    }

    [Fact]
    public void ARolledBackIncrement_IsUndone_AndACounterInAnObjectTypedMemberReadsBack()
    {
        var a = _store.Open();
        a.Write(new Scoreboard { Visits = new DCounter(1) });
        var board = a.Read<Scoreboard>();
        using (a.Transaction())
            board.Visits.Increment(5);
        Assert.Equal(1, board.Visits.Value);

        a.Write(new Dictionary<string, object> { ["hits"] = new DCounter(4) });
        var hits = (DCounter)a.Read<IDictionary<string, object>>()["hits"];
        hits.Increment();
        Assert.Equal(5, ((DCounter)_store.OpenQuiet().Read<IDictionary<string, object>>()["hits"]).Value);
    }
}
