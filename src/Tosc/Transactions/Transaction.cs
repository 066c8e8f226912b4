using Tosc.Changes;
using Tosc.Transactions;

namespace Tosc;

/// <summary>
/// A transaction scope. Changes to live objects made in it are applied locally and committed together by the
/// outermost scope's <see cref="Commit"/>, as one compare-and-swap. Disposed without commit, it rolls them back.
/// </summary>
/// <remarks>
/// Scopes nest: an inner <see cref="Commit"/> only marks the scope complete; an inner scope disposed without
/// commit is a savepoint rolled back: exactly the changes made in it are undone, and the transaction goes on.
/// While a transaction runs, no remote change is applied to the live objects.
/// </remarks>
public sealed class Transaction : IDisposable, IAsyncDisposable
{
    private readonly Manager _manager;
    private readonly UnitOfWork _work;
    private readonly Manager.FlowBoxHandle _box;
    private readonly bool _outermost;
    private readonly Savepoint _savepoint;
    private bool _ended;

    internal Transaction(Manager manager, UnitOfWork work, Manager.FlowBoxHandle box, bool outermost, Savepoint savepoint = default)
    {
        _manager = manager;
        _work = work;
        _box = box;
        _outermost = outermost;
        _savepoint = savepoint;
    }

    /// <summary>Whether this is the outermost scope, the one whose commit stores the changes.</summary>
    public bool IsOutermost => _outermost;

    /// <summary>The version the transaction started from.</summary>
    public long? BaseVersion => _work.BaseVersion;

    /// <summary>
    /// Completes the scope. For the outermost scope: stores every change of the transaction by compare-and-swap.
    /// </summary>
    /// <exception cref="TransactionConflictException">Someone else committed first; the changes were rolled back and the manager refreshed.</exception>
    /// <exception cref="TransactionException">An inner scope was disposed without commit; the changes were rolled back.</exception>
    public void Commit() => CommitCoreAsync(async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Commit"/>
    public async Task CommitAsync(CancellationToken cancellationToken = default) =>
        await CommitCoreAsync(async: true, cancellationToken).ConfigureAwait(false);

    /// <summary>Ends the scope; without a commit, rolls the transaction back (or dooms it, for an inner scope).</summary>
    public void Dispose()
    {
        if (_ended)
            return;
        _ended = true;
        if (!_outermost)
        {
            if (!_work.Completed)
                _manager.RollBackTo(_work, _savepoint);
            _work.Depth--;
            return;
        }
        try
        {
            if (!_work.Completed)
                _manager.RollBack(_work);
        }
        finally
        {
            _manager.EndOutermost(_box);
        }
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async ValueTask CommitCoreAsync(bool async, CancellationToken cancellationToken)
    {
        if (_ended)
            throw new InvalidOperationException("This transaction scope has already ended.");
        if (!_outermost)
        {
            _ended = true;
            _work.Depth--;
            return;
        }
        if (_work.Depth > 1)
            throw new InvalidOperationException("An inner transaction scope is still open; commit or dispose it first.");
        _ended = true;
        try
        {
            await _manager.CommitAsync(_work, async, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _manager.EndOutermost(_box);
        }
    }
}
