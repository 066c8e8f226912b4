using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using static Tosc.Serialization.MessagePackCode;

namespace Tosc.Serialization;

/// <summary>
/// Writes MessagePack values (msgpack spec) into a growable buffer, always in the smallest format that
/// holds the value, so equal values encode to equal bytes. Reuse one writer with <see cref="Reset"/>.
/// </summary>
internal sealed class MessagePackWriter
{
    // Up to this many chars a string is encoded against the 3-bytes-per-char bound and its header fixed up
    // afterwards (one pass); longer strings are counted first so the buffer does not over-reserve.
    private const int MaxCharsForBoundedEncoding = 1024;

    private byte[] _buffer;
    private int _length;

    public MessagePackWriter(int initialCapacity = 256)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);
        _buffer = initialCapacity == 0 ? [] : new byte[initialCapacity];
    }

    /// <summary>The number of bytes written since creation or the last <see cref="Reset"/>.</summary>
    public int Length => _length;

    /// <summary>The bytes written so far; valid until the next write or <see cref="Reset"/>.</summary>
    public ReadOnlySpan<byte> WrittenSpan => new(_buffer, 0, _length);

    /// <summary>The bytes written so far; valid until the next write or <see cref="Reset"/>.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => new(_buffer, 0, _length);

    /// <summary>A copy of the bytes written so far.</summary>
    public byte[] ToArray() => WrittenSpan.ToArray();

    /// <summary>Forgets what was written and keeps the buffer for the next value.</summary>
    public void Reset() => _length = 0;

    public void WriteNil() => WriteByte(Nil);

    public void Write(bool value) => WriteByte(value ? True : False);

    public void Write(int value) => Write((long)value);

    public void Write(long value)
    {
        if (value >= 0)
        {
            Write((ulong)value);
        }
        else if (value >= -32)
        {
            WriteByte((byte)(sbyte)value);
        }
        else if (value >= sbyte.MinValue)
        {
            Span<byte> span = Reserve(2);
            span[0] = Int8Code;
            span[1] = (byte)(sbyte)value;
        }
        else if (value >= short.MinValue)
        {
            Span<byte> span = Reserve(3);
            span[0] = Int16Code;
            BinaryPrimitives.WriteInt16BigEndian(span[1..], (short)value);
        }
        else if (value >= int.MinValue)
        {
            Span<byte> span = Reserve(5);
            span[0] = Int32Code;
            BinaryPrimitives.WriteInt32BigEndian(span[1..], (int)value);
        }
        else
        {
            Span<byte> span = Reserve(9);
            span[0] = Int64Code;
            BinaryPrimitives.WriteInt64BigEndian(span[1..], value);
        }
    }

    public void Write(ulong value)
    {
        if (value <= MaxPositiveFixInt)
        {
            WriteByte((byte)value);
        }
        else if (value <= byte.MaxValue)
        {
            Span<byte> span = Reserve(2);
            span[0] = UInt8Code;
            span[1] = (byte)value;
        }
        else if (value <= ushort.MaxValue)
        {
            Span<byte> span = Reserve(3);
            span[0] = UInt16Code;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)value);
        }
        else if (value <= uint.MaxValue)
        {
            Span<byte> span = Reserve(5);
            span[0] = UInt32Code;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)value);
        }
        else
        {
            Span<byte> span = Reserve(9);
            span[0] = UInt64Code;
            BinaryPrimitives.WriteUInt64BigEndian(span[1..], value);
        }
    }

    /// <summary>Writes a float 32.</summary>
    public void Write(float value)
    {
        Span<byte> span = Reserve(5);
        span[0] = Float32;
        BinaryPrimitives.WriteSingleBigEndian(span[1..], value);
    }

    /// <summary>Writes a float 64.</summary>
    public void Write(double value)
    {
        Span<byte> span = Reserve(9);
        span[0] = Float64;
        BinaryPrimitives.WriteDoubleBigEndian(span[1..], value);
    }

    /// <summary>
    /// Writes nil for <see langword="null"/>, else the string as UTF-8 in a fixstr / str 8 / 16 / 32.
    /// A string holding an unpaired surrogate cannot be encoded and throws <see cref="ToscDataException"/>.
    /// </summary>
    public void Write(string? value)
    {
        if (value is null)
        {
            WriteNil();
            return;
        }

        try
        {
            if (value.Length <= MaxCharsForBoundedEncoding)
            {
                WriteStringBounded(value);
            }
            else
            {
                int byteCount = StrictUtf8.GetByteCount(value);
                WriteStringHeader(byteCount);
                int written = StrictUtf8.GetBytes(value, Reserve(byteCount));
                Debug.Assert(written == byteCount, "GetBytes wrote what GetByteCount counted.");
            }
        }
        catch (EncoderFallbackException e)
        {
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"A string cannot be encoded as UTF-8: it holds the unpaired surrogate U+{(int)e.CharUnknown:X4} at index {e.Index} of its {value.Length} chars."), e);
        }
    }

    private void WriteStringBounded(string value)
    {
        // UTF-8 needs at most 3 bytes per UTF-16 char (a surrogate pair: 4 bytes for 2 chars).
        int maxBytes = value.Length * 3;
        int reservedHeader = StringHeaderSize(maxBytes);
        EnsureCapacity(reservedHeader + maxBytes);
        int start = _length;
        int byteCount = StrictUtf8.GetBytes(value, _buffer.AsSpan(start + reservedHeader, maxBytes));
        int header = StringHeaderSize(byteCount);
        if (header != reservedHeader)
        {
            // Overlapping copy to the left: Span.CopyTo handles overlap like memmove.
            _buffer.AsSpan(start + reservedHeader, byteCount).CopyTo(_buffer.AsSpan(start + header));
        }

        WriteStringHeaderAt(start, byteCount);
        _length = start + header + byteCount;
    }

    /// <summary>Writes a str whose payload is given as UTF-8 bytes (not validated: the caller vouches for them).</summary>
    public void WriteString(ReadOnlySpan<byte> utf8)
    {
        WriteStringHeader(utf8.Length);
        utf8.CopyTo(Reserve(utf8.Length));
    }

    /// <summary>Writes the header of a str of <paramref name="byteCount"/> UTF-8 bytes; the caller writes the bytes.</summary>
    public void WriteStringHeader(int byteCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteCount);
        int header = StringHeaderSize(byteCount);
        EnsureCapacity(header);
        WriteStringHeaderAt(_length, byteCount);
        _length += header;
    }

    /// <summary>Writes a bin 8 / 16 / 32.</summary>
    public void WriteBinary(ReadOnlySpan<byte> bytes)
    {
        WriteBinaryHeader(bytes.Length);
        bytes.CopyTo(Reserve(bytes.Length));
    }

    /// <summary>Writes the header of a bin of <paramref name="length"/> bytes; the caller writes the bytes.</summary>
    public void WriteBinaryHeader(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length <= byte.MaxValue)
        {
            Span<byte> span = Reserve(2);
            span[0] = Bin8;
            span[1] = (byte)length;
        }
        else if (length <= ushort.MaxValue)
        {
            Span<byte> span = Reserve(3);
            span[0] = Bin16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
        }
        else
        {
            Span<byte> span = Reserve(5);
            span[0] = Bin32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
        }
    }

    /// <summary>Writes a fixarray / array 16 / array 32 header; the caller writes <paramref name="count"/> values.</summary>
    public void WriteArrayHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteContainerHeader(count, FixArray, Array16, Array32);
    }

    /// <summary>Writes a fixmap / map 16 / map 32 header; the caller writes <paramref name="count"/> key-value pairs.</summary>
    public void WriteMapHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteContainerHeader(count, FixMap, Map16, Map32);
    }

    private void WriteContainerHeader(int count, byte fixCode, byte code16, byte code32)
    {
        if (count <= 15)
        {
            WriteByte((byte)(fixCode | count));
        }
        else if (count <= ushort.MaxValue)
        {
            Span<byte> span = Reserve(3);
            span[0] = code16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)count);
        }
        else
        {
            Span<byte> span = Reserve(5);
            span[0] = code32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)count);
        }
    }

    /// <summary>
    /// Writes an extension header: fixext 1/2/4/8/16 when <paramref name="length"/> is one of those sizes,
    /// else ext 8/16/32. The caller writes the <paramref name="length"/> data bytes.
    /// </summary>
    public void WriteExtensionHeader(sbyte typeCode, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        byte fixCode = length switch
        {
            1 => FixExt1,
            2 => FixExt2,
            4 => FixExt4,
            8 => FixExt8,
            16 => FixExt16,
            _ => 0,
        };
        if (fixCode != 0)
        {
            Span<byte> span = Reserve(2);
            span[0] = fixCode;
            span[1] = (byte)typeCode;
        }
        else if (length <= byte.MaxValue)
        {
            Span<byte> span = Reserve(3);
            span[0] = Ext8;
            span[1] = (byte)length;
            span[2] = (byte)typeCode;
        }
        else if (length <= ushort.MaxValue)
        {
            Span<byte> span = Reserve(4);
            span[0] = Ext16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
            span[3] = (byte)typeCode;
        }
        else
        {
            Span<byte> span = Reserve(6);
            span[0] = Ext32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            span[5] = (byte)typeCode;
        }
    }

    /// <summary>Writes a whole extension value: header and data.</summary>
    public void WriteExtension(sbyte typeCode, ReadOnlySpan<byte> data)
    {
        WriteExtensionHeader(typeCode, data.Length);
        data.CopyTo(Reserve(data.Length));
    }

    /// <summary>Appends bytes as they are (e.g. an already encoded value or extension data).</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    /// <summary>A span of at least <paramref name="sizeHint"/> (at least 1) free bytes; call <see cref="Advance"/> after filling it.</summary>
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        EnsureCapacity(Math.Max(sizeHint, 1));
        return _buffer.AsSpan(_length);
    }

    /// <summary>Commits <paramref name="count"/> bytes written into the span from <see cref="GetSpan"/>.</summary>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _length);
        _length += count;
    }

    private static int StringHeaderSize(int byteCount) => byteCount switch
    {
        <= 31 => 1,
        <= byte.MaxValue => 2,
        <= ushort.MaxValue => 3,
        _ => 5,
    };

    private void WriteStringHeaderAt(int offset, int byteCount)
    {
        Span<byte> span = _buffer.AsSpan(offset);
        if (byteCount <= 31)
        {
            span[0] = (byte)(FixStr | byteCount);
        }
        else if (byteCount <= byte.MaxValue)
        {
            span[0] = Str8;
            span[1] = (byte)byteCount;
        }
        else if (byteCount <= ushort.MaxValue)
        {
            span[0] = Str16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)byteCount);
        }
        else
        {
            span[0] = Str32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)byteCount);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteByte(byte value)
    {
        if (_length == _buffer.Length)
        {
            Grow(1);
        }

        _buffer[_length++] = value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Reserve(int count)
    {
        EnsureCapacity(count);
        Span<byte> span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureCapacity(int count)
    {
        if (_buffer.Length - _length < count)
        {
            Grow(count);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int count)
    {
        long required = (long)_length + count;
        if (required > Array.MaxLength)
        {
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"The encoded data would need {required} bytes, more than the largest possible buffer ({Array.MaxLength} bytes)."));
        }

        long size = Math.Max(required, Math.Max(256L, 2L * _buffer.Length));
        byte[] bigger = GC.AllocateUninitializedArray<byte>((int)Math.Min(size, Array.MaxLength));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        _buffer = bigger;
    }
}
