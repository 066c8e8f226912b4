using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Core;

public sealed class RetryTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void EightThreads_OneManagerEach_ThousandIncrementsEach_CountExactlyEightThousand()
    {
        _store.Open().Write(new Counter());
        var managers = Enumerable.Range(0, 8).Select(_ => _store.Open()).ToArray();

        var threads = managers.Select(manager => new Thread(() =>
        {
            var counter = manager.Read<Counter>();
            for (var i = 0; i < 1000; i++)
                manager.Run(() => counter.Value++, retries: int.MaxValue);
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            Assert.True(thread.Join(TimeSpan.FromMinutes(3)), "worker finished");

        Assert.Equal(8000, _store.OpenQuiet().Read<Counter>().Value);
    }

    [Fact]
    public void Run_RerunsTheBodyOnConflict_UntilItCommits()
    {
        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Counter());
        var counter = a.Read<Counter>();
        var other = b.Read<Counter>();
        var attempts = 0;

        var result = a.Run(() =>
        {
            if (++attempts < 3)
                other.Value += 10; // someone else commits first, twice
            counter.Value += 1;
            return counter.Value;
        }, retries: 5);

        Assert.Equal(3, attempts);
        Assert.Equal(21, result);
        Assert.Equal(21, _store.OpenQuiet().Read<Counter>().Value);
    }

    [Fact]
    public void Run_WhenEveryAttemptConflicts_ThrowsRetryExceptionWithTheAttemptCount()
    {
        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Counter());
        var counter = a.Read<Counter>();
        var other = b.Read<Counter>();

        var error = Assert.Throws<TransactionRetryException>(() => a.Run(() =>
        {
            other.Value++; // another manager changes what the body reads, every time
            if (counter.Value >= 0)
                counter.Value = -1;
        }, retries: 3));

        Assert.Equal(4, error.Attempts);
        Assert.IsType<TransactionConflictException>(error.InnerException);
        Assert.NotEqual(-1, _store.OpenQuiet().Read<Counter>().Value);
    }

    [Fact]
    public void Run_WhenTheDeadlinePasses_ThrowsTimeoutException()
    {
        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Counter());
        var counter = a.Read<Counter>();
        var other = b.Read<Counter>();

        var error = Assert.Throws<TransactionTimeoutException>(() => a.Run(() =>
        {
            other.Value++; // another manager changes what the body reads, every time
            if (counter.Value >= 0)
                counter.Value = -1;
        }, retries: int.MaxValue, timeout: TimeSpan.FromMilliseconds(300)));

        Assert.True(error.Attempts >= 1);
        Assert.Equal(TimeSpan.FromMilliseconds(300), error.Timeout);
    }

    [Fact]
    public void Run_DoesNotRetryErrorsThatAreNotConflicts_AndRollsBack()
    {
        var a = _store.Open();
        a.Write(new Counter { Value = 1 });
        var counter = a.Read<Counter>();
        var attempts = 0;

        Assert.Throws<InvalidOperationException>(() => a.Run(() =>
        {
            attempts++;
            counter.Value = 99;
            throw new InvalidOperationException("boom");
        }));

        Assert.Equal(1, attempts);
        Assert.Equal(1, counter.Value);
    }

    [Fact]
    public void Run_InsideATransaction_JoinsIt()
    {
        var a = _store.Open();
        a.Write(new Counter());
        var counter = a.Read<Counter>();

        using (a.Transaction())
            a.Run(() => counter.Value = 5);

        Assert.Equal(0, counter.Value);
    }

    [Fact]
    public async Task RunAsync_RetriesAsyncBodies_AndReturnsTheResult()
    {
        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Counter());
        var counter = a.Read<Counter>();
        var other = b.Read<Counter>();
        var attempts = 0;

        var result = await a.RunAsync(async () =>
        {
            await Task.Yield();
            if (++attempts == 1)
                other.Value = 100;
            counter.Value++;
            return counter.Value;
        }, retries: 3);

        Assert.Equal(2, attempts);
        Assert.Equal(101, result);
    }

    [Fact]
    public async Task TransactionalProxy_RunsMarkedMethodsAsRetriedTransactions_SyncAndAsync()
    {
        var a = _store.Open();
        a.Write(new Inventory { Stock = new Dictionary<string, int> { ["apples"] = 5 } });
        var inventory = a.Read<Inventory>();
        var implementation = new StockService(inventory);
        var service = a.Transactional<IStockService>(implementation);

        service.Restock("apples", 2);
        await service.RestockAsync("pears", 1);
        var left = await service.TakeAsync("apples");
        var peek = await service.PeekAsync("apples");

        Assert.Equal((6, 6), (left, peek));
        Assert.Equal(5, service.Untracked("pears") + 4);
        var stored = _store.OpenQuiet().Read<Inventory>();
        Assert.Equal((6, 1), (stored.Stock["apples"], stored.Stock["pears"]));
    }

    [Fact]
    public void TransactionalProxy_RerunsOnConflict_AndRollsBackOnOtherErrors()
    {
        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Inventory());
        var inventory = a.Read<Inventory>();
        var theirs = b.Read<Inventory>();
        var conflicts = 1;
        var implementation = new StockService(inventory, onCall: () =>
        {
            if (conflicts-- > 0)
                theirs.Stock["apples"] = 10;
        });
        var service = a.Transactional<IStockService>(implementation);

        service.Restock("apples", 1);
        Assert.Throws<InvalidOperationException>(() => service.Fail("nope"));

        Assert.Equal(2, implementation.Calls - 1);
        Assert.Equal(11, inventory.Stock["apples"]);
        Assert.Empty(inventory.Log);
    }

    [Fact]
    public void ManyContenders_WithBackoff_AllMakeProgress()
    {
        _store.Open().Write(new Inventory());
        var managers = Enumerable.Range(0, 4).Select(_ => _store.Open()).ToArray();

        Parallel.ForEach(managers, manager =>
        {
            var inventory = manager.Read<Inventory>();
            for (var i = 0; i < 50; i++)
                manager.Run(() => inventory.Log.Add($"{manager.GetHashCode()}:{i}"), retries: 1000);
        });

        var log = _store.OpenQuiet().Read<Inventory>().Log;
        Assert.Equal(200, log.Count);
        Assert.Equal(200, log.Distinct().Count());
    }
}
