using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>
/// One recorded mutation of a live node: the one currency of the core. The transaction undoes them in reverse on
/// rollback, and each writes itself as an operation of the log record its commit appends (<see cref="WriteOp"/>).
/// </summary>
internal abstract class Change
{
    protected Change(ILiveNode node) => Node = node;

    public ILiveNode Node { get; }

    public abstract void Undo();

    /// <summary>
    /// Makes the same change again on the state a rebase put under it (the transaction's reads were checked against
    /// what changed there, so the change means what it meant), taking anew what it replaces, for a later undo.
    /// </summary>
    public abstract void Redo();

    /// <summary>
    /// The change as the feed reports it, once committed: where in its node (for <see cref="ILiveNode.Inspect"/>), what
    /// it did, and the values before and after (live ones: the caller detaches them).
    /// </summary>
    public abstract (object At, PathChangeKind Kind, object? Old, object? New) Describe();

    /// <summary>
    /// The parts of its node the change writes, as reading its operation back gives them (<see cref="ILiveNode.ReadOp"/>),
    /// for the tokens a store checks conflicts with. By default: the element <see cref="Describe"/> names and the count,
    /// or the whole node.
    /// </summary>
    public virtual Conflicts.OpTarget Written => Describe() is var (at, kind, _, _) && at is not null && !ReferenceEquals(at, Conflicts.Slot.All)
        ? Conflicts.OpTarget.Membership(at, kind)
        : Conflicts.OpTarget.Whole;

    /// <summary>The values this change took out of the graph (replaced, removed or cleared).</summary>
    public virtual IEnumerable<object?> Removed() => [];

    /// <summary>
    /// Writes the operation <c>[node id, kind, arguments...]</c>. Called right after the mutation, so the values it
    /// writes are the ones of that moment, whatever later operations of the transaction do to them.
    /// </summary>
    public abstract void WriteOp(ref GraphWriter writer);

    protected void WriteTarget(ref GraphWriter writer, OpKind kind, int arguments)
    {
        writer.Msg.WriteArrayHeader(2 + arguments);
        writer.Msg.Write(Node.Header.Id);
        writer.Msg.Write((byte)kind);
    }
}
