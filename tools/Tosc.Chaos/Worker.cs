using System.Globalization;

namespace Tosc.Chaos;

/// <summary>What the runner tells a worker: stop issuing transactions, or die now (in-process workers only).</summary>
internal sealed class WorkerControl
{
    private volatile bool _stop;

    public bool StopRequested => _stop;

    public CancellationTokenSource Kill { get; } = new();

    public void RequestStop() => _stop = true;
}

/// <summary>
/// Runs random transactions against one manager until told to stop: counter increments, appends with unique
/// tokens, dictionary puts and removes, set changes, nested scopes (sync and async), deliberate rollbacks,
/// transactions around an inner scope that is rolled back (a savepoint), and read-only work. Journals every step before and after it, so the checks can
/// tell acknowledged, unknown and rolled-back transactions apart.
/// </summary>
internal sealed class Worker(Manager manager, ChaosState root, JournalWriter journal, string name, int seed, WorkerControl control, bool contention = false)
{
    // The contention profile runs with Tosc's defaults, as users do; otherwise a generous count keeps faults from
    // ending transactions that would commit a moment later.
    private readonly int? _retries = contention ? null : 500;

    private static readonly TimeSpan CommitDeadline = TimeSpan.FromSeconds(20);
    private readonly Random _random = new(seed);
    private long _sequence;

    public int Commits { get; private set; }

    public async Task RunAsync()
    {
        while (!control.StopRequested && !control.Kill.IsCancellationRequested)
        {
            var roll = _random.Next(100);
            if (roll < 50)
                CommitSync();
            else if (roll < 75)
                await CommitAsync();
            else if (roll < 83)
                RollBackDeliberately();
            else if (roll < 88)
                CommitAroundARolledBackScope();
            else
                ReadOnly();
        }
    }

    private string NextId() => name + "." + (++_sequence).ToString(CultureInfo.InvariantCulture);

    private void CommitSync()
    {
        var id = NextId();
        var ops = Op.Random(_random, allowNested: true, contention);
        journal.Intent(id, ops);
        var attempts = 0;
        try
        {
            manager.Run(() =>
            {
                attempts++;
                ApplySync(id, ops, allowNested: true);
            }, retries: _retries, timeout: CommitDeadline);
            journal.Ack(id, attempts);
            Commits++;
        }
        catch (Exception e)
        {
            Settle(id, e);
        }
    }

    private async Task CommitAsync()
    {
        var id = NextId();
        var ops = Op.Random(_random, allowNested: true, contention);
        journal.Intent(id, ops);
        var attempts = 0;
        try
        {
            await manager.RunAsync(async () =>
            {
                attempts++;
                await ApplyAsync(id, ops);
            }, retries: _retries, timeout: CommitDeadline, control.Kill.Token);
            journal.Ack(id, attempts);
            Commits++;
        }
        catch (Exception e)
        {
            Settle(id, e);
        }
    }

    /// <summary>Changes inside a transaction that is disposed without commit: nothing of it may ever be seen.</summary>
    private void RollBackDeliberately()
    {
        var id = NextId();
        var ops = Op.Random(_random, allowNested: true, contention);
        journal.RolledBack(id, ops);
        try
        {
            using (manager.Transaction())
                ApplySync(id, ops, allowNested: true);
            CheckInvisible(id, "a rolled-back transaction");
        }
        catch (Exception e) when (Expected(e))
        {
        }
        catch (Exception e)
        {
            Unexpected(e);
        }
    }

    /// <summary>
    /// An inner scope disposed without commit is a savepoint: exactly its own changes are undone, and the outer
    /// transaction commits the rest. The inner changes are journalled as a rolled-back transaction of their own, so
    /// the checks prove none of them is ever seen.
    /// </summary>
    private void CommitAroundARolledBackScope()
    {
        var id = NextId();
        var kept = Op.Random(_random, allowNested: false, contention);
        var innerId = NextId();
        var undone = Op.Random(_random, allowNested: false, contention);
        var split = _random.Next(kept.Length + 1);
        journal.RolledBack(innerId, undone);
        journal.Intent(id, kept);
        var attempts = 0;
        try
        {
            manager.Run(() =>
            {
                attempts++;
                var appended = ApplyOps(id, kept.AsSpan(0, split), 0);
                using (manager.Transaction())
                    ApplyOps(innerId, undone, 0);
                ApplyOps(id, kept.AsSpan(split), appended);
            }, retries: _retries, timeout: CommitDeadline);
            journal.Ack(id, attempts);
            Commits++;
        }
        catch (Exception e)
        {
            Settle(id, e);
        }
    }

    private void ReadOnly()
    {
        try
        {
            switch (_random.Next(3))
            {
                case 0:
                    var seen = manager.Run(() => root.Counter + root.Appends.Count + root.Entries.Count + root.Tags.Count);
                    if (seen < 0)
                        journal.Violation("a negative total");
                    break;
                case 1:
                    var copy = manager.Snapshot<ChaosState>();
                    if (copy.Counter < 0)
                        journal.Violation($"a snapshot at version {manager.Version} holds a negative counter");
                    break;
                default:
                    manager.Refresh<ChaosState>();
                    break;
            }
        }
        catch (Exception e) when (Expected(e))
        {
        }
        catch (Exception e)
        {
            Unexpected(e);
        }
    }

    private void ApplySync(string id, Op[] ops, bool allowNested)
    {
        var appended = 0;
        var start = 0;
        for (var i = 0; i < ops.Length; i++)
        {
            if (ops[i].Kind != '[' || !allowNested)
                continue;
            appended = ApplyOps(id, ops.AsSpan(start, i - start), appended);
            var end = Array.FindIndex(ops, i, op => op.Kind == ']');
            using (var inner = manager.Transaction())
            {
                appended = ApplyOps(id, ops.AsSpan(i + 1, end - i - 1), appended);
                inner.Commit();
            }
            start = end + 1;
            i = end;
        }
        ApplyOps(id, ops.AsSpan(start), appended);
    }

    private async Task ApplyAsync(string id, Op[] ops)
    {
        var appended = 0;
        var open = Array.FindIndex(ops, op => op.Kind == '[');
        if (open < 0)
        {
            ApplyOps(id, ops, 0);
            return;
        }
        var close = Array.FindIndex(ops, open, op => op.Kind == ']');
        appended = ApplyOps(id, ops.AsSpan(0, open), appended);
        var inner = await manager.TransactionAsync(control.Kill.Token);
        await using (inner)
        {
            await Task.Yield(); // the nested scope must survive a thread hop
            appended = ApplyOps(id, ops.AsSpan(open + 1, close - open - 1), appended);
            await inner.CommitAsync(control.Kill.Token);
        }
        ApplyOps(id, ops.AsSpan(close + 1), appended);
    }

    private int ApplyOps(string id, ReadOnlySpan<Op> ops, int appended)
    {
        foreach (var op in ops)
        {
            switch (op.Kind)
            {
                case 'c':
                    root.Counter += long.Parse(op.Arg, CultureInfo.InvariantCulture);
                    break;
                case 'a':
                    root.Appends.Add(Op.Token(id, appended++));
                    break;
                case 'p':
                    root.Entries[op.Arg] = id;
                    break;
                case 'd':
                    root.Entries.Remove(op.Arg);
                    break;
                case 's':
                    root.Tags.Add(op.Arg);
                    break;
                case 'r':
                    root.Tags.Remove(op.Arg);
                    break;
            }
        }
        return appended;
    }

    private void CheckInvisible(string id, string what)
    {
        if (root.Appends.Contains(Op.Token(id, 0)) || root.Entries.Values.Contains(id))
            journal.Violation($"{id}: {what} is still visible in the live objects after it ended");
    }

    /// <summary>Journals how a commit ended, when it did not end in an acknowledgment.</summary>
    private void Settle(string id, Exception e)
    {
        switch (e)
        {
            case TransactionRetryException or TransactionTimeoutException:
                journal.Failed(id, e.GetType().Name);
                break;
            case BackendException or OperationCanceledException or ObjectDisposedException:
                // A commit whose reply was lost and could not be read back, or a worker being stopped mid-commit.
                journal.Unknown(id, e.GetType().Name);
                Pause();
                break;
            default:
                journal.Unknown(id, e.GetType().Name);
                Unexpected(e);
                break;
        }
    }

    private bool Expected(Exception e)
    {
        if (e is TransactionConflictException or TransactionRetryException or TransactionTimeoutException)
            return true;
        if (e is BackendException or OperationCanceledException or ObjectDisposedException)
        {
            Pause();
            return true;
        }
        return false;
    }

    private void Unexpected(Exception e)
    {
        if (control.Kill.IsCancellationRequested && e is InvalidOperationException)
            return; // an in-process worker torn down mid-step
        journal.Error($"{e.GetType().FullName}: {e.Message} at {e.StackTrace?.ReplaceLineEndings(" | ")}");
    }

    private void Pause()
    {
        // The backend is failing (a server restarting): back off a little instead of spinning.
        control.Kill.Token.WaitHandle.WaitOne(_random.Next(50, 300));
    }
}
