using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Chaos;

public class Ledger
{
    public virtual int Balance { get; set; }

    public virtual IList<string> Entries { get; set; } = new List<string>();
}

/// <summary>
/// A cancelled CommitAsync / ReadAsync leaves the manager usable and the store consistent (issue 7): the token
/// already cancelled, or cancelled while the call waits on a slow store. Run with delta commits (appends) and with
/// whole-state commits, the two ways a commit is settled.
/// </summary>
public sealed class CancellationTests() : CancellationCases(deltaCommits: true);

/// <inheritdoc cref="CancellationTests"/>
public sealed class WholeStateCancellationTests() : CancellationCases(deltaCommits: false);

public abstract class CancellationCases : IDisposable
{
    private readonly bool _deltaCommits;
    private readonly InprocBackend _store = new();
    private readonly StallingBackend _slow;
    private readonly Manager _observer;

    protected CancellationCases(bool deltaCommits)
    {
        _deltaCommits = deltaCommits;
        _slow = new StallingBackend(_store);
        _observer = new Manager(_store, Options());
        _observer.Write(new Ledger { Balance = 1 });
    }

    public void Dispose()
    {
        _observer.Dispose();
        _store.Dispose();
        GC.SuppressFinalize(this);
    }

    private ManagerOptions Options(bool watch = false) => new() { WatchForChanges = watch, PollInterval = TimeSpan.FromMilliseconds(50), DeltaCommits = _deltaCommits };

    private static CancellationToken Cancelled => new(canceled: true);

    /// <summary>The store as a fresh manager decodes it: whole commits only.</summary>
    private (int Balance, string Entries, long? Version) Stored()
    {
        var ledger = _observer.Refresh<Ledger>();
        return (ledger.Balance, string.Join(",", ledger.Entries), _observer.Version);
    }

    [Fact]
    public async Task CommitAsync_WithACancelledToken_RollsBack_AndTheManagerStaysUsable()
    {
        using var manager = new Manager(_slow, Options());
        var ledger = await manager.ReadAsync<Ledger>();
        var before = Stored();

        var transaction = await manager.TransactionAsync();
        ledger.Balance = 2;
        ledger.Entries.Add("cancelled");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => transaction.CommitAsync(Cancelled));
        await transaction.DisposeAsync();

        Assert.Equal(1, ledger.Balance);
        Assert.Empty(ledger.Entries);
        Assert.Equal(before, Stored());
        await manager.RunAsync(() =>
        {
            ledger.Balance = 3;
            ledger.Entries.Add("after");
            return Task.CompletedTask;
        });
        Assert.Equal((3, "after"), (Stored().Balance, Stored().Entries));
    }

    [Fact]
    public async Task CommitAsync_CancelledWhileTheWriteIsOnItsWay_StoresNothing_AndTheManagerStaysUsable()
    {
        using var manager = new Manager(_slow, Options());
        var ledger = await manager.ReadAsync<Ledger>();
        var before = Stored();
        using var cancel = new CancellationTokenSource();

        var transaction = await manager.TransactionAsync();
        ledger.Balance = 2;
        ledger.Entries.Add("cancelled");
        _slow.Arm(StallPoint.BeforeWrite);
        var commit = transaction.CommitAsync(cancel.Token);
        await Eventually.Within(_slow.Stalled.ContinueWith(_ => true), "the commit to reach the slow store");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => commit);

        Assert.Equal(1, ledger.Balance);
        Assert.Empty(ledger.Entries);
        // The content is untouched; the version may have moved on once, the fence that makes sure the
        // cancelled write can never land later.
        Assert.Equal((before.Balance, before.Entries), (Stored().Balance, Stored().Entries));
        await manager.RefreshAsync<Ledger>();
        ledger.Balance = 4; // an implicit transaction: the manager is not left holding its lock
        Assert.Equal(4, Stored().Balance);
    }

    [Fact]
    public async Task CommitAsync_CancelledAfterTheWriteLanded_LeavesTheWholeCommitStored_AndTheManagerConverges()
    {
        using var manager = new Manager(_slow, Options(watch: true));
        var ledger = await manager.ReadAsync<Ledger>();
        using var cancel = new CancellationTokenSource();

        var transaction = await manager.TransactionAsync();
        ledger.Balance = 2;
        ledger.Entries.Add("landed");
        _slow.Arm(StallPoint.AfterWrite);
        var commit = transaction.CommitAsync(cancel.Token);
        await Eventually.Within(_slow.Stalled.ContinueWith(_ => true), "the commit to land and wait for its reply");
        await cancel.CancelAsync();
        await commit; // it landed: a success, not a cancellation

        // The store holds the commit whole, and the manager comes to show it (the watcher applies it like anyone's).
        Assert.Equal((2, "landed"), (Stored().Balance, Stored().Entries));
        await Eventually.TrueAsync(() => ledger.Balance == 2 && ledger.Entries.Count == 1, "the manager to show the commit that landed");
        Assert.Equal(_store.Read()!.Version, manager.Version);
        await manager.RunAsync(() =>
        {
            ledger.Balance += 1;
            return Task.CompletedTask;
        });
        Assert.Equal(3, Stored().Balance);
    }

    [Fact]
    public async Task CommitAsync_CancelledAfterTheWriteLanded_DoesNotReportACancellation()
    {
        using var manager = new Manager(_slow, Options());
        var ledger = await manager.ReadAsync<Ledger>();
        using var cancel = new CancellationTokenSource();

        var transaction = await manager.TransactionAsync();
        ledger.Balance = 2;
        _slow.Arm(StallPoint.AfterWrite);
        var commit = transaction.CommitAsync(cancel.Token);
        await Eventually.Within(_slow.Stalled.ContinueWith(_ => true), "the commit to land and wait for its reply");
        await cancel.CancelAsync();

        // Cancellation is fine before the write lands; once it has landed, the commit succeeded and must say so.
        await commit;
        Assert.Equal(2, ledger.Balance);
        Assert.Equal(_store.Read()!.Version, manager.Version);
    }

    [Fact]
    public async Task RunAsync_WhoseDeadlinePassesAfterTheWriteLanded_DoesNotReportATimeout()
    {
        using var manager = new Manager(_slow, Options());
        var ledger = await manager.ReadAsync<Ledger>();

        _slow.Arm(StallPoint.AfterWrite);
        Exception? failure = null;
        try
        {
            await manager.RunAsync(() =>
            {
                ledger.Entries.Add("landed");
                return Task.CompletedTask;
            }, retries: 3, timeout: TimeSpan.FromMilliseconds(200));
        }
        catch (TransactionTimeoutException e)
        {
            failure = e;
        }

        var stored = Stored().Entries;
        Assert.True(failure is null || stored.Length == 0, $"RunAsync reported \"{failure?.Message}\" but the store holds the commit: [{stored}]");
    }

    [Fact]
    public async Task ReadAsync_WithACancelledToken_Throws_AndTheNextReadWorks()
    {
        using var manager = new Manager(_slow, Options());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => manager.ReadAsync<Ledger>(Cancelled));
        Assert.Null(manager.Version);

        var ledger = await manager.ReadAsync<Ledger>();
        Assert.Equal(1, ledger.Balance);
        ledger.Balance = 5;
        Assert.Equal(5, Stored().Balance);
    }

    [Fact]
    public async Task ReadAsync_CancelledWhileTheStoreIsSlow_LeavesTheManagerUsable()
    {
        using var manager = new Manager(_slow, Options());
        using var cancel = new CancellationTokenSource();

        _slow.Arm(StallPoint.BeforeRead);
        var read = manager.ReadAsync<Ledger>(cancel.Token);
        await Eventually.Within(_slow.Stalled.ContinueWith(_ => true), "the read to reach the slow store");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);

        var ledger = await Eventually.Within(manager.ReadAsync<Ledger>(), "a read after the cancelled one");
        Assert.Equal(1, ledger.Balance);
        await Eventually.Within(manager.RunAsync(() =>
        {
            ledger.Entries.Add("after");
            return Task.FromResult(true);
        }), "a commit after the cancelled read");
        Assert.Equal("after", Stored().Entries);
    }

    [Fact]
    public async Task RefreshAsync_CancelledWhileTheStoreIsSlow_KeepsTheLiveObjects_AndTheManagerUsable()
    {
        using var manager = new Manager(_slow, Options());
        var ledger = await manager.ReadAsync<Ledger>();
        var mine = _observer.Read<Ledger>();
        mine.Balance = 7; // committed by the other manager
        using var cancel = new CancellationTokenSource();

        _slow.Arm(StallPoint.BeforeRead);
        var refresh = manager.RefreshAsync<Ledger>(cancel.Token);
        await Eventually.Within(_slow.Stalled.ContinueWith(_ => true), "the refresh to reach the slow store");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => refresh);

        Assert.Equal(1, ledger.Balance);
        await Eventually.Within(manager.RefreshAsync<Ledger>(), "a refresh after the cancelled one");
        Assert.Equal(7, ledger.Balance);
    }

    [Fact]
    public async Task TransactionAsync_CancelledWhileAnotherTransactionRuns_LeavesTheManagerUsable()
    {
        using var manager = new Manager(_slow, Options());
        var ledger = await manager.ReadAsync<Ledger>();
        using var cancel = new CancellationTokenSource();

        var running = manager.Transaction();
        ledger.Balance = 8;
        // Another flow (not a child of this one, which would join the running transaction) wants a transaction of
        // its own and waits for this one; then it gives up.
        Task<Transaction> waiting;
        using (ExecutionContext.SuppressFlow())
            waiting = Task.Run(async () => await manager.TransactionAsync(cancel.Token));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        running.Commit();

        var next = await Eventually.Within(manager.TransactionAsync().AsTask(), "a transaction after the cancelled wait");
        ledger.Balance = 9;
        await next.CommitAsync();
        Assert.Equal(9, Stored().Balance);
    }
}
