using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>Undo for DByteArray: the bytes overwritten at an offset and the previous length.</summary>
internal sealed class BytesChange : Change
{
    private readonly DByteArray _bytes;
    private readonly int _offset;
    private readonly byte[] _old;
    private readonly int _oldLength;

    public BytesChange(DByteArray bytes, int offset, byte[] old, int oldLength) : base(bytes)
    {
        _bytes = bytes;
        _offset = offset;
        _old = old;
        _oldLength = oldLength;
    }

    public override void Undo() => _bytes.Restore(_offset, _old, _oldLength);

    public override void WriteOp(ref GraphWriter writer)
    {
        // A byte array is one value to its readers: its content after the write, whole.
        WriteTarget(ref writer, OpKind.Content, 1);
        writer.Msg.WriteBinary(_bytes.AsSpan());
    }
}
