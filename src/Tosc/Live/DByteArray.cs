using System.Collections;
using System.Diagnostics;
using Tosc.Changes;
using Tosc.Conflicts;
using Tosc.Serialization;
using Tosc.Live;

namespace Tosc;

/// <summary>
/// A live, growable byte array, stored compactly as MessagePack bin. Changes are recorded like those
/// of the other live types. Created with <c>new</c>, it is a plain buffer until it is stored.
/// </summary>
[DebuggerDisplay("Length = {Length}")]
public sealed class DByteArray : IList<byte>, IReadOnlyList<byte>, ILiveNode
{
    private readonly NodeHeader _header;
    private byte[] _data;
    private int _length;

    /// <summary>Creates an empty byte array, not yet stored.</summary>
    public DByteArray() : this([], 0, new NodeHeader()) { }

    /// <summary>Creates a byte array holding a copy of <paramref name="bytes"/>, not yet stored.</summary>
    public DByteArray(ReadOnlySpan<byte> bytes) : this(bytes.ToArray(), bytes.Length, new NodeHeader()) { }

    internal DByteArray(byte[] data, int length, NodeHeader header)
    {
        _data = data;
        _length = length;
        _header = header;
    }

    /// <summary>The number of bytes.</summary>
    public int Length => Read(static (data, length, _) => length, 0);

    int ICollection<byte>.Count => Length;

    int IReadOnlyCollection<byte>.Count => Length;

    bool ICollection<byte>.IsReadOnly => false;

    NodeHeader ILiveNode.Header => _header;

    object ILiveNode.Instance => this;

    /// <summary>The byte at <paramref name="index"/>.</summary>
    public byte this[int index]
    {
        get => Read(static (data, length, index) => (uint)index < (uint)length ? data[index] : throw new ArgumentOutOfRangeException(nameof(index)), index);
        set => Write(index, [value]);
    }

    /// <summary>The current bytes. The span is valid until the next change; copy it to keep it.</summary>
    public ReadOnlySpan<byte> AsSpan()
    {
        _header.Owner?.NoteRead(this, Slot.All);
        return _data.AsSpan(0, _length);
    }

    /// <summary>Copies the bytes into a new array.</summary>
    public byte[] ToArray() => Read(static (data, length, _) => data.AsSpan(0, length).ToArray(), 0);

    /// <summary>Copies up to <c>destination.Length</c> bytes starting at <paramref name="offset"/>; returns how many were copied.</summary>
    public int Read(int offset, Span<byte> destination)
    {
        var owner = _header.Owner;
        if (owner is null)
            return CopyOut(offset, destination);
        lock (owner.Gate)
        {
            owner.NoteRead(this, Slot.All);
            return CopyOut(offset, destination);
        }
    }

    /// <summary>Overwrites bytes at <paramref name="offset"/>, growing the array when they reach past its end.</summary>
    public void Write(int offset, ReadOnlySpan<byte> bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, Length);
        Change(offset, bytes.ToArray(), static (array, arg) =>
        {
            var end = arg.offset + arg.bytes.Length;
            array.EnsureLength(end);
            arg.bytes.CopyTo(array._data.AsSpan(arg.offset));
        });
    }

    /// <summary>Appends bytes at the end.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        var end = Length;
        Write(end, bytes);
    }

    /// <summary>Sets the length: truncates, or pads with zeros.</summary>
    public void Resize(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var from = Math.Min(length, Length);
        Change(from, [], (array, _) =>
        {
            array.EnsureLength(length);
            array._length = length;
        });
    }

    /// <inheritdoc/>
    public void Add(byte item) => Append([item]);

    /// <inheritdoc/>
    public void Insert(int index, byte item)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, Length);
        Change(index, [item], static (array, arg) =>
        {
            var tail = array._data.AsSpan(arg.offset, array._length - arg.offset).ToArray();
            array.EnsureLength(array._length + 1);
            array._data[arg.offset] = arg.bytes[0];
            tail.CopyTo(array._data.AsSpan(arg.offset + 1));
        });
    }

    /// <inheritdoc/>
    public void RemoveAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Length);
        Change(index, [], static (array, arg) =>
        {
            array._data.AsSpan(arg.offset + 1, array._length - arg.offset - 1).CopyTo(array._data.AsSpan(arg.offset));
            array._length--;
        });
    }

    /// <inheritdoc/>
    public bool Remove(byte item)
    {
        var index = IndexOf(item);
        if (index < 0)
            return false;
        RemoveAt(index);
        return true;
    }

    /// <inheritdoc/>
    public void Clear() => Resize(0);

    /// <inheritdoc/>
    public int IndexOf(byte item) => Read(static (data, length, item) => data.AsSpan(0, length).IndexOf(item), item);

    /// <inheritdoc/>
    public bool Contains(byte item) => IndexOf(item) >= 0;

    /// <inheritdoc/>
    public void CopyTo(byte[] array, int arrayIndex) => ToArray().CopyTo(array, arrayIndex);

    /// <inheritdoc/>
    public IEnumerator<byte> GetEnumerator() => ((IEnumerable<byte>)ToArray()).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    void ILiveNode.PushChildren(Stack<ILiveNode> pending)
    {
    }

    void ILiveNode.ReplaceContent(object content)
    {
        _data = (byte[])content;
        _length = _data.Length;
    }

    string ILiveNode.LabelOf(ILiveNode child) => "";

    string ILiveNode.Describe(object slot) => "";

    (string Step, bool Present, object? Value) ILiveNode.Inspect(object at) => ("", true, _data.AsSpan(0, _length).ToArray());

    Action ILiveNode.ReadOp(OpKind kind, ref GraphReader reader, out OpTarget written)
    {
        if (kind != OpKind.Content)
            throw OpReading.Unexpected(kind, this);
        var bytes = reader.Msg.ReadBinary().ToArray();
        written = OpTarget.Whole with { At = Slot.All };
        return () => ((ILiveNode)this).ReplaceContent(bytes);
    }

    internal void Restore(int offset, byte[] old, int oldLength)
    {
        EnsureLength(Math.Max(oldLength, offset + old.Length));
        old.CopyTo(_data.AsSpan(offset));
        _length = oldLength;
    }

    private int CopyOut(int offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= _length)
            return 0;
        var count = Math.Min(destination.Length, _length - offset);
        _data.AsSpan(offset, count).CopyTo(destination);
        return count;
    }

    private void EnsureLength(int length)
    {
        if (length > _data.Length)
            Array.Resize(ref _data, Math.Max(length, Math.Max(16, _data.Length * 2)));
        if (length > _length)
        {
            _data.AsSpan(_length, length - _length).Clear();
            _length = length;
        }
    }

    private TResult Read<TArg, TResult>(Func<byte[], int, TArg, TResult> read, TArg arg)
    {
        var owner = _header.Owner;
        if (owner is null)
            return read(_data, _length, arg);
        lock (owner.Gate)
        {
            owner.NoteRead(this, Slot.All);
            return read(_data, _length, arg);
        }
    }

    // Every change saves the bytes from `offset` to the end and the old length, which is enough to undo it.
    private void Change(int offset, byte[] bytes, Action<DByteArray, (int offset, byte[] bytes)> apply)
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
        {
            apply(this, (offset, bytes));
            return;
        }
        owner.Mutate(this, (offset, bytes, apply), static (array, arg, work) =>
        {
            // An offset or a length only means something against the bytes it was computed from.
            work.NoteRead(array, Slot.All);
            var saved = array._data.AsSpan(arg.offset, array._length - arg.offset).ToArray();
            var oldLength = array._length;
            arg.apply(array, (arg.offset, arg.bytes));
            work.Record(new BytesChange(array, arg.offset, saved, oldLength, redone => arg.apply(redone, (arg.offset, arg.bytes))));
        });
    }
}
