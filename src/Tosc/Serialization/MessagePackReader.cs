using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using static Tosc.Serialization.MessagePackCode;

namespace Tosc.Serialization;

/// <summary>
/// Reads MessagePack values (msgpack spec) from a span. Built for hostile input: every declared length and
/// count is checked against the bytes that remain before it is used, nothing is allocated from a declared
/// size, <see cref="Skip"/> is iterative, and every malformed input ends in <see cref="ToscDataException"/>
/// naming the offset. A failed read leaves <see cref="Position"/> where it was.
/// </summary>
internal ref struct MessagePackReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public MessagePackReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>The offset of the next byte to read.</summary>
    public readonly int Position => _position;

    /// <summary>The number of bytes not yet read.</summary>
    public readonly int Remaining => _data.Length - _position;

    /// <summary>Whether every byte has been read.</summary>
    public readonly bool End => _position >= _data.Length;

    /// <summary>The first byte of the next value, without consuming it.</summary>
    public readonly byte PeekCode()
    {
        int position = _position;
        if ((uint)position >= (uint)_data.Length)
        {
            ThrowEndOfData(position);
        }

        return _data[position];
    }

    /// <summary>The type family of the next value, without consuming it.</summary>
    public readonly MessagePackType PeekType()
    {
        byte code = PeekCode();
        if (!TryGetType(code, out MessagePackType type))
        {
            ThrowNeverUsed(_position);
        }

        return type;
    }

    /// <summary>Consumes a nil and returns <see langword="true"/>, or returns <see langword="false"/> and consumes nothing.</summary>
    public bool TryReadNil()
    {
        if (PeekCode() == Nil)
        {
            _position++;
            return true;
        }

        return false;
    }

    public void ReadNil()
    {
        byte code = PeekCode();
        if (code != Nil)
        {
            ThrowTypeMismatch("nil", code);
        }

        _position++;
    }

    public bool ReadBoolean()
    {
        byte code = PeekCode();
        if (code is not (True or False))
        {
            ThrowTypeMismatch("a boolean", code);
        }

        _position++;
        return code == True;
    }

    /// <summary>Reads an integer in any int format; a uint 64 above <see cref="long.MaxValue"/> throws.</summary>
    public long ReadInt64()
    {
        byte code = PeekCode();
        if (code <= MaxPositiveFixInt)
        {
            _position++;
            return code;
        }

        if (code >= MinNegativeFixInt)
        {
            _position++;
            return (sbyte)code;
        }

        switch (code)
        {
            case UInt8Code:
                return Consume(2)[1];
            case UInt16Code:
                return BinaryPrimitives.ReadUInt16BigEndian(Consume(3)[1..]);
            case UInt32Code:
                return BinaryPrimitives.ReadUInt32BigEndian(Consume(5)[1..]);
            case UInt64Code:
                ulong value = BinaryPrimitives.ReadUInt64BigEndian(Peek(9)[1..]);
                if (value > long.MaxValue)
                {
                    ThrowOutOfRange(value.ToString(CultureInfo.InvariantCulture), "a 64-bit signed integer (at most 9223372036854775807)");
                }

                _position += 9;
                return (long)value;
            case Int8Code:
                return (sbyte)Consume(2)[1];
            case Int16Code:
                return BinaryPrimitives.ReadInt16BigEndian(Consume(3)[1..]);
            case Int32Code:
                return BinaryPrimitives.ReadInt32BigEndian(Consume(5)[1..]);
            case Int64Code:
                return BinaryPrimitives.ReadInt64BigEndian(Consume(9)[1..]);
            default:
                ThrowTypeMismatch("an integer", code);
                return 0;
        }
    }

    /// <summary>Reads an integer in any int format; a negative value throws.</summary>
    public ulong ReadUInt64()
    {
        if (PeekCode() == UInt64Code)
        {
            return BinaryPrimitives.ReadUInt64BigEndian(Consume(9)[1..]);
        }

        int start = _position;
        long value = ReadInt64();
        if (value < 0)
        {
            _position = start;
            ThrowOutOfRange(value.ToString(CultureInfo.InvariantCulture), "an unsigned 64-bit integer (0 or more)");
        }

        return (ulong)value;
    }

    /// <summary>Reads an integer in any int format; a value outside the <see cref="int"/> range throws.</summary>
    public int ReadInt32()
    {
        int start = _position;
        long value = ReadInt64();
        if (value is < int.MinValue or > int.MaxValue)
        {
            _position = start;
            ThrowOutOfRange(value.ToString(CultureInfo.InvariantCulture), "a 32-bit signed integer (-2147483648 to 2147483647)");
        }

        return (int)value;
    }

    /// <summary>Reads a float 32 or float 64, or an integer converted to the nearest double.</summary>
    public double ReadDouble()
    {
        byte code = PeekCode();
        switch (code)
        {
            case Float32:
                return BinaryPrimitives.ReadSingleBigEndian(Consume(5)[1..]);
            case Float64:
                return BinaryPrimitives.ReadDoubleBigEndian(Consume(9)[1..]);
            case UInt64Code:
                return BinaryPrimitives.ReadUInt64BigEndian(Consume(9)[1..]);
            case <= MaxPositiveFixInt or >= MinNegativeFixInt or (>= UInt8Code and <= Int64Code):
                return ReadInt64();
            default:
                ThrowTypeMismatch("a float", code);
                return 0;
        }
    }

    /// <summary>Like <see cref="ReadDouble"/>, rounded to the nearest float (exact for a float 32).</summary>
    public float ReadSingle() => (float)ReadDouble();

    /// <summary>Reads a str as a new string (nil gives <see langword="null"/>); invalid UTF-8 throws.</summary>
    public string? ReadString()
    {
        if (PeekCode() == Nil)
        {
            _position++;
            return null;
        }

        int start = _position;
        ReadOnlySpan<byte> utf8 = ReadStringSpan();
        if (utf8.IsEmpty)
        {
            return string.Empty;
        }

        try
        {
            return StrictUtf8.GetString(utf8);
        }
        catch (DecoderFallbackException e)
        {
            _position = start;
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"The string at offset {start} is not valid UTF-8 (bad byte at index {e.Index} of its {utf8.Length} bytes)."), e);
        }
    }

    /// <summary>Reads a str and returns its payload bytes as stored (not checked for valid UTF-8).</summary>
    public ReadOnlySpan<byte> ReadStringSpan()
    {
        byte code = PeekCode();
        switch (code)
        {
            case >= FixStr and < Nil:
                return ConsumePayload(1, code & 0x1f);
            case Str8:
                return ConsumePayload(2, Peek(2)[1]);
            case Str16:
                return ConsumePayload(3, BinaryPrimitives.ReadUInt16BigEndian(Peek(3)[1..]));
            case Str32:
                return ConsumePayload(5, BinaryPrimitives.ReadUInt32BigEndian(Peek(5)[1..]));
            default:
                ThrowTypeMismatch("a string", code);
                return default;
        }
    }

    /// <summary>Reads a bin 8 / 16 / 32 (a str is not accepted).</summary>
    public ReadOnlySpan<byte> ReadBinary()
    {
        byte code = PeekCode();
        switch (code)
        {
            case Bin8:
                return ConsumePayload(2, Peek(2)[1]);
            case Bin16:
                return ConsumePayload(3, BinaryPrimitives.ReadUInt16BigEndian(Peek(3)[1..]));
            case Bin32:
                return ConsumePayload(5, BinaryPrimitives.ReadUInt32BigEndian(Peek(5)[1..]));
            default:
                ThrowTypeMismatch("binary data", code);
                return default;
        }
    }

    /// <summary>Reads an array header and returns the element count (never more than the bytes that remain).</summary>
    public int ReadArrayHeader()
    {
        byte code = PeekCode();
        switch (code)
        {
            case >= FixArray and < FixStr:
                return ConsumeContainerHeader(1, code & 0x0f, 1);
            case Array16:
                return ConsumeContainerHeader(3, BinaryPrimitives.ReadUInt16BigEndian(Peek(3)[1..]), 1);
            case Array32:
                return ConsumeContainerHeader(5, BinaryPrimitives.ReadUInt32BigEndian(Peek(5)[1..]), 1);
            default:
                ThrowTypeMismatch("an array", code);
                return 0;
        }
    }

    /// <summary>Reads a map header and returns the number of key-value pairs (never more than half the bytes that remain).</summary>
    public int ReadMapHeader()
    {
        byte code = PeekCode();
        switch (code)
        {
            case >= FixMap and < FixArray:
                return ConsumeContainerHeader(1, code & 0x0f, 2);
            case Map16:
                return ConsumeContainerHeader(3, BinaryPrimitives.ReadUInt16BigEndian(Peek(3)[1..]), 2);
            case Map32:
                return ConsumeContainerHeader(5, BinaryPrimitives.ReadUInt32BigEndian(Peek(5)[1..]), 2);
            default:
                ThrowTypeMismatch("a map", code);
                return 0;
        }
    }

    /// <summary>
    /// Reads an extension header; the data length is checked against the bytes that remain, so
    /// <see cref="ReadRaw"/>(Length) that follows cannot run past the end.
    /// </summary>
    public (sbyte TypeCode, int Length) ReadExtensionHeader()
    {
        byte code = PeekCode();
        int header;
        long length;
        sbyte typeCode;
        switch (code)
        {
            case FixExt1:
            case FixExt2:
            case FixExt4:
            case FixExt8:
            case FixExt16:
                header = 2;
                length = 1 << (code - FixExt1);
                typeCode = (sbyte)Peek(2)[1];
                break;
            case Ext8:
                ReadOnlySpan<byte> ext8 = Peek(3);
                header = 3;
                length = ext8[1];
                typeCode = (sbyte)ext8[2];
                break;
            case Ext16:
                ReadOnlySpan<byte> ext16 = Peek(4);
                header = 4;
                length = BinaryPrimitives.ReadUInt16BigEndian(ext16[1..]);
                typeCode = (sbyte)ext16[3];
                break;
            case Ext32:
                ReadOnlySpan<byte> ext32 = Peek(6);
                header = 6;
                length = BinaryPrimitives.ReadUInt32BigEndian(ext32[1..]);
                typeCode = (sbyte)ext32[5];
                break;
            default:
                ThrowTypeMismatch("an extension", code);
                return default;
        }

        CheckDeclaredLength(header, length, "bytes of data");
        _position += header;
        return (typeCode, (int)length);
    }

    /// <summary>Consumes <paramref name="length"/> bytes as they are (e.g. extension data).</summary>
    public ReadOnlySpan<byte> ReadRaw(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return Consume(length);
    }

    /// <summary>
    /// Skips one whole value of any type, nested containers included. Iterative (a count of pending values,
    /// no recursion), so any nesting depth is fine; a count that cannot fit the remaining bytes throws early.
    /// </summary>
    public void Skip()
    {
        int start = _position;
        try
        {
            long pending = 1;
            do
            {
                pending--;
                byte code = PeekCode();
                switch (code)
                {
                    case <= MaxPositiveFixInt or >= MinNegativeFixInt or Nil or False or True:
                        _position++;
                        break;
                    case >= FixMap and < FixArray:
                    case Map16:
                    case Map32:
                        pending += 2L * ReadMapHeader();
                        break;
                    case >= FixArray and < FixStr:
                    case Array16:
                    case Array32:
                        pending += ReadArrayHeader();
                        break;
                    case >= FixStr and < Nil:
                    case Str8:
                    case Str16:
                    case Str32:
                        ReadStringSpan();
                        break;
                    case Bin8:
                    case Bin16:
                    case Bin32:
                        ReadBinary();
                        break;
                    case Ext8:
                    case Ext16:
                    case Ext32:
                    case >= FixExt1 and <= FixExt16:
                        // Not "_position += ReadExtensionHeader().Length": that reads _position before the header moves it.
                        int dataLength = ReadExtensionHeader().Length;
                        _position += dataLength;
                        break;
                    case UInt8Code:
                    case Int8Code:
                        Consume(2);
                        break;
                    case UInt16Code:
                    case Int16Code:
                        Consume(3);
                        break;
                    case UInt32Code:
                    case Int32Code:
                    case Float32:
                        Consume(5);
                        break;
                    case UInt64Code:
                    case Int64Code:
                    case Float64:
                        Consume(9);
                        break;
                    default:
                        ThrowNeverUsed(_position);
                        break;
                }

                // Each pending value takes at least one byte: fail now rather than walk to the end.
                if (pending > Remaining)
                {
                    throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                        $"The value at offset {start} still needs {pending} more values but only {Remaining} bytes remain at offset {_position}."));
                }
            }
            while (pending > 0);
        }
        catch (ToscDataException)
        {
            _position = start;
            throw;
        }
    }

    /// <summary>Skips one whole value (see <see cref="Skip"/>) and returns its encoded bytes.</summary>
    public ReadOnlySpan<byte> ReadRawValue()
    {
        int start = _position;
        Skip();
        return _data[start.._position];
    }

    /// <summary>Returns the next <paramref name="count"/> bytes (first byte of the value included) without consuming them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ReadOnlySpan<byte> Peek(int count)
    {
        int position = _position;
        if (count > _data.Length - position)
        {
            ThrowTruncated(count);
        }

        return _data.Slice(position, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Consume(int count)
    {
        ReadOnlySpan<byte> span = Peek(count);
        _position += count;
        return span;
    }

    /// <summary>Consumes a header of <paramref name="header"/> bytes and a payload of <paramref name="length"/> bytes; returns the payload.</summary>
    private ReadOnlySpan<byte> ConsumePayload(int header, long length)
    {
        CheckDeclaredLength(header, length, "bytes");
        int payloadStart = _position + header;
        _position = payloadStart + (int)length;
        return _data.Slice(payloadStart, (int)length);
    }

    private int ConsumeContainerHeader(int header, long count, int valuesPerEntry)
    {
        long available = (long)_data.Length - _position - header;
        if (count * valuesPerEntry > available)
        {
            byte code = _data[_position];
            string what = valuesPerEntry == 1 ? "elements" : "key-value pairs";
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"The {FormatName(code)} at offset {_position} declares {count} {what} but only {available} bytes remain; each {(valuesPerEntry == 1 ? "element" : "pair")} takes at least {valuesPerEntry} byte(s)."));
        }

        _position += header;
        return (int)count;
    }

    private readonly void CheckDeclaredLength(int header, long length, string unit)
    {
        long available = (long)_data.Length - _position - header;
        if (length > available)
        {
            byte code = _data[_position];
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"The {FormatName(code)} at offset {_position} declares {length} {unit} but only {available} remain at offset {_position + header}."));
        }
    }

    [DoesNotReturn]
    private static void ThrowEndOfData(int position) =>
        throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
            $"Unexpected end of data at offset {position}: a MessagePack value was expected."));

    [DoesNotReturn]
    private static void ThrowNeverUsed(int position) =>
        throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
            $"The byte 0xc1 at offset {position} is never used in MessagePack; the data is corrupt or not MessagePack."));

    [DoesNotReturn]
    private readonly void ThrowTruncated(int count)
    {
        string what = _position < _data.Length ? "the " + FormatName(_data[_position]) + " value" : "the read";
        throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
            $"Unexpected end of data at offset {_position}: {what} needs {count} bytes but only {Remaining} remain."));
    }

    [DoesNotReturn]
    private readonly void ThrowTypeMismatch(string expected, byte code) =>
        throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
            $"Expected {expected} at offset {_position} but found {Describe(code)}."));

    [DoesNotReturn]
    private readonly void ThrowOutOfRange(string value, string target) =>
        throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
            $"The integer {value} at offset {_position} does not fit in {target}."));
}
