using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>Undo and redo for DCounter: an increment, which means the same on any value.</summary>
internal sealed class CounterChange(DCounter counter, long delta) : Change(counter)
{
    public override void Undo() => counter.Add(-delta);

    public override void Redo() => counter.Add(delta);

    public override (object At, PathChangeKind Kind, object? Old, object? New) Describe() =>
        ("Value", PathChangeKind.Set, counter.Stored - delta, counter.Stored);

    public override void WriteOp(ref GraphWriter writer)
    {
        WriteTarget(ref writer, OpKind.Increment, 1);
        writer.Msg.Write(delta);
    }
}
