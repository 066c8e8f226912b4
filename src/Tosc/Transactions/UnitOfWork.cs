using Tosc.Changes;
using Tosc.Conflicts;
using Tosc.Live;

namespace Tosc.Transactions;

/// <summary>The mutations of one transaction, however deeply nested its scopes are.</summary>
internal sealed class UnitOfWork
{
    private readonly List<Change> _changes = [];

    // Set while the changes are undone for a rebase: a rollback then has nothing left to undo.
    private bool _undone;

    public UnitOfWork(Manager owner, long? baseVersion, bool isImplicit)
    {
        Owner = owner;
        BaseVersion = baseVersion;
        IsImplicit = isImplicit;
        owner.ForgetOps(); // a new transaction starts with no operations
    }

    public Manager Owner { get; }

    /// <summary>The version the transaction started from; its commit is a compare-and-swap against it.</summary>
    public long? BaseVersion { get; private set; }

    public bool IsImplicit { get; }

    /// <summary>How many scopes are open (1 = only the outermost).</summary>
    public int Depth { get; set; } = 1;

    /// <summary>Set once the outermost scope committed or rolled back.</summary>
    public bool Completed { get; set; }

    public bool HasChanges => _changes.Count > 0;

    public IReadOnlyList<Change> Changes => _changes;

    public int ChangeCount => _changes.Count;

    /// <summary>What the transaction read (and what its changes depend on), per node and part.</summary>
    public ReadSet Reads { get; } = new();

    /// <summary>Where the commit collided with one that won, when it did: for <see cref="TransactionConflictException.ConflictingPaths"/>.</summary>
    public IReadOnlyList<string> ConflictingPaths { get; set; } = [];

    /// <summary>Callers hold the manager's gate.</summary>
    public void NoteRead(ILiveNode node, object slot) => Reads.Add(node, slot);

    /// <summary>Takes every change back, newest first, keeping them to be redone on a newer state (or dropped).</summary>
    public void UndoForRebase()
    {
        for (var i = _changes.Count - 1; i >= 0; i--)
            _changes[i].Undo();
        Owner.ForgetOps();
        _undone = true;
    }

    /// <summary>
    /// Makes every change again, in order, on the newer state now under them, and encodes each anew (an append goes to
    /// the new end; what a change replaces is taken from the new state). The transaction now starts from <paramref name="version"/>.
    /// </summary>
    /// <param name="version">The version now under the changes.</param>
    /// <param name="encode"><see langword="false"/> when the record is stored already (the store put it after the newer records).</param>
    public void RedoOn(long version, bool encode = true)
    {
        _undone = false;
        BaseVersion = version;
        foreach (var change in _changes)
        {
            change.Redo();
            foreach (var removed in change.Removed())
                Owner.NoteRemoved(removed);
            if (encode)
                Owner.RecordOp(change);
        }
    }

    /// <summary>The root was first read inside this transaction: it starts from that version.</summary>
    public void Rebase(long? version)
    {
        if (!HasChanges)
            BaseVersion = version;
    }

    /// <summary>The transaction now starts from <paramref name="version"/>, a record that changed nothing it touched (its own lease).</summary>
    public void Follow(long version) => BaseVersion = version;

    public void Record(Change change)
    {
        _changes.Add(change);
        foreach (var removed in change.Removed())
            Owner.NoteRemoved(removed);
        try
        {
            Owner.RecordOp(change);
        }
        catch
        {
            // The change cannot be stored: take it back at once, so nothing is changed only locally.
            change.Undo();
            _changes.RemoveAt(_changes.Count - 1);
            throw;
        }
        change.Node.Header.Dirty = true;
    }

    /// <summary>Undoes every change, newest first, and clears the dirty marks.</summary>
    public void RollBack()
    {
        for (var i = _undone ? -1 : _changes.Count - 1; i >= 0; i--)
            _changes[i].Undo();
        _undone = false;
        ClearDirty();
        _changes.Clear();
        Owner.ForgetOps();
    }

    /// <summary>Where the transaction stands now: a nested scope undoes back to it when it ends without commit.</summary>
    public Savepoint Mark() => new(_changes.Count, Owner.MarkOps());

    /// <summary>Undoes the changes made since <paramref name="savepoint"/>, newest first; the earlier ones stay.</summary>
    public void RollBackTo(Savepoint savepoint)
    {
        for (var i = _changes.Count - 1; i >= savepoint.Changes; i--)
        {
            _changes[i].Undo();
            _changes[i].Node.Header.Dirty = false;
        }
        _changes.RemoveRange(savepoint.Changes, _changes.Count - savepoint.Changes);
        foreach (var change in _changes)
            change.Node.Header.Dirty = true;
        Owner.TruncateOps(savepoint.Ops);
    }

    public void ClearDirty()
    {
        foreach (var change in _changes)
            change.Node.Header.Dirty = false;
    }

    public void Forget() => _changes.Clear();
}
