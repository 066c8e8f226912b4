using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>Undo and redo for DByteArray: the bytes overwritten at an offset and the previous length, and the write itself.</summary>
internal sealed class BytesChange : Change
{
    private readonly DByteArray _bytes;
    private readonly int _offset;
    private readonly byte[] _old;
    private readonly int _oldLength;
    private readonly Action<DByteArray> _apply;

    public BytesChange(DByteArray bytes, int offset, byte[] old, int oldLength, Action<DByteArray> apply) : base(bytes)
    {
        _bytes = bytes;
        _offset = offset;
        _old = old;
        _oldLength = oldLength;
        _apply = apply;
    }

    public override void Undo() => _bytes.Restore(_offset, _old, _oldLength);

    // Every change of a byte array reads it whole, so a rebase replays it only on the bytes it was first made on.
    public override void Redo() => _apply(_bytes);

    // The bytes before are not kept whole (only the part a write overwrote): the feed reports the content after.
    public override (object At, PathChangeKind Kind, object? Old, object? New) Describe() =>
        (Conflicts.Slot.All, PathChangeKind.Replace, null, _bytes);

    public override void WriteOp(ref GraphWriter writer)
    {
        // A byte array is one value to its readers: its content after the write, whole.
        WriteTarget(ref writer, OpKind.Content, 1);
        writer.Msg.WriteBinary(_bytes.AsSpan());
    }
}
