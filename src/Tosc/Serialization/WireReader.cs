using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.IO;
using System.Text;
using static Tosc.Serialization.MessagePackCode;

namespace Tosc.Serialization;

/// <summary>
/// MessagePack-CSharp's <see cref="MessagePack.MessagePackReader"/> made safe for hostile input. Before a value is
/// handed to the package reader, its header is checked here: every declared length and count against the bytes that
/// remain, nothing allocated from a declared size, strings decoded as strict UTF-8 (the package replaces invalid
/// bytes silently), <see cref="Skip"/> iterative. Every malformed input ends in <see cref="ToscDataException"/>
/// naming the offset, never in the package's EndOfStreamException, MessagePackSerializationException or
/// OverflowException. A failed read leaves <see cref="Position"/> where it was.
/// </summary>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;
    private MessagePack.MessagePackReader _inner;

    public WireReader(ReadOnlyMemory<byte> data)
    {
        _data = data.Span;
        _inner = new MessagePack.MessagePackReader(data);
    }

    /// <summary>The offset of the next byte to read.</summary>
    public int Position => (int)_inner.Consumed;

    /// <summary>The number of bytes not yet read.</summary>
    public int Remaining => _data.Length - Position;

    /// <summary>Whether every byte has been read.</summary>
    public bool End => Position >= _data.Length;

    /// <summary>The first byte of the next value, without consuming it.</summary>
    public byte PeekCode()
    {
        int position = Position;
        if ((uint)position >= (uint)_data.Length)
            ThrowEndOfData(position);
        return _data[position];
    }

    /// <summary>The type family of the next value, without consuming it.</summary>
    public MessagePackType PeekType()
    {
        byte code = PeekCode();
        if (!TryGetType(code, out MessagePackType type))
            ThrowNeverUsed(Position);
        return type;
    }

    /// <summary>Consumes a nil and returns <see langword="true"/>, or returns <see langword="false"/> and consumes nothing.</summary>
    public bool TryReadNil() => PeekCode() == Nil && _inner.TryReadNil();

    public void ReadNil()
    {
        Expect(PeekCode() == Nil, "nil");
        _inner.ReadNil();
    }

    public bool ReadBoolean()
    {
        Expect(PeekCode() is True or False, "a boolean");
        return _inner.ReadBoolean();
    }

    /// <summary>Reads an integer in any int format; a uint 64 above <see cref="long.MaxValue"/> throws.</summary>
    public long ReadInt64()
    {
        byte code = PeekCode();
        int size = IntegerSize(code);
        Expect(size > 0, "an integer");
        ReadOnlySpan<byte> bytes = Peek(size);
        if (code == UInt64Code && BinaryPrimitives.ReadUInt64BigEndian(bytes[1..]) is > long.MaxValue and var big)
            ThrowOutOfRange(big.ToString(CultureInfo.InvariantCulture), "a 64-bit signed integer (at most 9223372036854775807)");
        return _inner.ReadInt64();
    }

    /// <summary>Reads an integer in any int format; a negative value throws.</summary>
    public ulong ReadUInt64()
    {
        byte code = PeekCode();
        if (code == UInt64Code)
        {
            Peek(9);
            return _inner.ReadUInt64();
        }

        var start = _inner;
        long value = ReadInt64();
        if (value < 0)
        {
            _inner = start;
            ThrowOutOfRange(value.ToString(CultureInfo.InvariantCulture), "an unsigned 64-bit integer (0 or more)");
        }

        return (ulong)value;
    }

    /// <summary>Reads an integer in any int format; a value outside the <see cref="int"/> range throws.</summary>
    public int ReadInt32()
    {
        var start = _inner;
        long value = ReadInt64();
        if (value is < int.MinValue or > int.MaxValue)
        {
            _inner = start;
            ThrowOutOfRange(value.ToString(CultureInfo.InvariantCulture), "a 32-bit signed integer (-2147483648 to 2147483647)");
        }

        return (int)value;
    }

    /// <summary>Reads a float 32 or float 64, or an integer converted to the nearest double.</summary>
    public double ReadDouble()
    {
        byte code = PeekCode();
        int size = code switch
        {
            Float32 => 5,
            Float64 => 9,
            _ => IntegerSize(code),
        };
        Expect(size > 0, "a float");
        Peek(size);
        return _inner.ReadDouble();
    }

    /// <summary>Like <see cref="ReadDouble"/>, rounded to the nearest float (exact for a float 32).</summary>
    public float ReadSingle() => (float)ReadDouble();

    /// <summary>Reads a str as a new string (nil gives <see langword="null"/>); invalid UTF-8 throws.</summary>
    public string? ReadString()
    {
        if (TryReadNil())
            return null;

        var start = _inner;
        ReadOnlySpan<byte> utf8 = ReadStringSpan();
        if (utf8.IsEmpty)
            return string.Empty;

        try
        {
            return StrictUtf8.GetString(utf8);
        }
        catch (DecoderFallbackException e)
        {
            _inner = start;
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"The string at offset {Position} is not valid UTF-8 (bad byte at index {e.Index} of its {utf8.Length} bytes)."), e);
        }
    }

    /// <summary>Reads a str and returns its payload bytes as stored (not checked for valid UTF-8).</summary>
    public ReadOnlySpan<byte> ReadStringSpan()
    {
        byte code = PeekCode();
        switch (code)
        {
            case >= FixStr and < Nil:
                CheckDeclaredLength(1, code & 0x1f, "bytes");
                break;
            case Str8:
                CheckDeclaredLength(2, Peek(2)[1], "bytes");
                break;
            case Str16:
                CheckDeclaredLength(3, BinaryPrimitives.ReadUInt16BigEndian(Peek(3)[1..]), "bytes");
                break;
            case Str32:
                CheckDeclaredLength(5, BinaryPrimitives.ReadUInt32BigEndian(Peek(5)[1..]), "bytes");
                break;
            default:
                ThrowTypeMismatch("a string", code);
                break;
        }

        return _inner.TryReadStringSpan(out ReadOnlySpan<byte> span) ? span : Contiguous(_inner.ReadStringSequence()!.Value);
    }

    /// <summary>Reads a bin 8 / 16 / 32 (a str is not accepted).</summary>
    public ReadOnlySpan<byte> ReadBinary()
    {
        byte code = PeekCode();
        switch (code)
        {
            case Bin8:
                CheckDeclaredLength(2, Peek(2)[1], "bytes");
                break;
            case Bin16:
                CheckDeclaredLength(3, BinaryPrimitives.ReadUInt16BigEndian(Peek(3)[1..]), "bytes");
                break;
            case Bin32:
                CheckDeclaredLength(5, BinaryPrimitives.ReadUInt32BigEndian(Peek(5)[1..]), "bytes");
                break;
            default:
                ThrowTypeMismatch("binary data", code);
                break;
        }

        return Contiguous(_inner.ReadBytes()!.Value);
    }

    /// <summary>Reads an array header and returns the element count (never more than the bytes that remain).</summary>
    public int ReadArrayHeader() => ReadContainerHeader(map: false, PeekContainerHeader(map: false, out _));

    /// <summary>Reads a map header and returns the number of key-value pairs (never more than half the bytes that remain).</summary>
    public int ReadMapHeader() => ReadContainerHeader(map: true, PeekContainerHeader(map: true, out _));

    /// <summary>Checks the next array or map header against the bytes that remain and returns its count, consuming nothing.</summary>
    private int PeekContainerHeader(bool map, out int header)
    {
        byte code = PeekCode();
        int valuesPerEntry = map ? 2 : 1;
        long count;
        switch (code)
        {
            case >= FixMap and < FixArray when map:
            case >= FixArray and < FixStr when !map:
                (header, count) = (1, code & 0x0f);
                break;
            case Map16 when map:
            case Array16 when !map:
                (header, count) = (3, BinaryPrimitives.ReadUInt16BigEndian(Peek(3)[1..]));
                break;
            case Map32 when map:
            case Array32 when !map:
                (header, count) = (5, BinaryPrimitives.ReadUInt32BigEndian(Peek(5)[1..]));
                break;
            default:
                ThrowTypeMismatch(map ? "a map" : "an array", code);
                header = 0;
                return 0;
        }

        int position = Position;
        long available = (long)_data.Length - position - header;
        if (count * valuesPerEntry > available)
        {
            string what = map ? "key-value pairs" : "elements";
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"The {FormatName(code)} at offset {position} declares {count} {what} but only {available} bytes remain; each {(map ? "pair" : "element")} takes at least {valuesPerEntry} byte(s)."));
        }

        return (int)count;
    }

    /// <summary>
    /// Consumes a checked header. The package reader also keeps a budget of the bytes that announced values still need
    /// (across nesting levels); when a header overdraws it, that is malformed data too.
    /// </summary>
    private int ReadContainerHeader(bool map, int count)
    {
        var start = _inner;
        try
        {
            return map ? _inner.ReadMapHeader() : _inner.ReadArrayHeader();
        }
        catch (EndOfStreamException e)
        {
            _inner = start;
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"The {FormatName(PeekCode())} at offset {Position} declares {count} {(map ? "key-value pairs" : "elements")}: with the values its enclosing containers still need, that is more than the {Remaining} bytes that remain."), e);
        }
    }

    /// <summary>
    /// Reads an extension header; the data length is checked against the bytes that remain, so
    /// <see cref="ReadRaw"/>(Length) that follows cannot run past the end.
    /// </summary>
    public (sbyte TypeCode, int Length) ReadExtensionHeader()
    {
        byte code = PeekCode();
        switch (code)
        {
            case >= FixExt1 and <= FixExt16:
                Peek(2);
                CheckDeclaredLength(2, 1 << (code - FixExt1), "bytes of data");
                break;
            case Ext8:
                CheckDeclaredLength(3, Peek(3)[1], "bytes of data");
                break;
            case Ext16:
                CheckDeclaredLength(4, BinaryPrimitives.ReadUInt16BigEndian(Peek(4)[1..]), "bytes of data");
                break;
            case Ext32:
                CheckDeclaredLength(6, BinaryPrimitives.ReadUInt32BigEndian(Peek(6)[1..]), "bytes of data");
                break;
            default:
                ThrowTypeMismatch("an extension", code);
                break;
        }

        MessagePack.ExtensionHeader header = _inner.ReadExtensionFormatHeader();
        return (header.TypeCode, (int)header.Length);
    }

    /// <summary>Consumes <paramref name="length"/> bytes as they are (e.g. extension data).</summary>
    public ReadOnlySpan<byte> ReadRaw(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Peek(length);
        return Contiguous(_inner.ReadRaw(length));
    }

    /// <summary>
    /// Skips one whole value of any type, nested containers included. Iterative (a count of pending values,
    /// no recursion), so any nesting depth is fine; a count that cannot fit the remaining bytes throws early.
    /// </summary>
    public void Skip()
    {
        var start = _inner;
        int startPosition = Position;
        try
        {
            long pending = 1;
            do
            {
                pending--;
                switch (PeekType())
                {
                    case MessagePackType.Map or MessagePackType.Array:
                        bool map = PeekType() == MessagePackType.Map;
                        int count = PeekContainerHeader(map, out int header);
                        pending += (map ? 2L : 1L) * count;
                        CheckPending(pending, Remaining - header, startPosition);
                        ReadContainerHeader(map, count);
                        break;
                    case MessagePackType.String:
                        ReadStringSpan();
                        break;
                    case MessagePackType.Binary:
                        ReadBinary();
                        break;
                    case MessagePackType.Extension:
                        ReadRaw(ReadExtensionHeader().Length);
                        break;
                    default:
                        ReadRaw(ScalarSize(PeekCode()));
                        break;
                }

                CheckPending(pending, Remaining, startPosition);
            }
            while (pending > 0);
        }
        catch (ToscDataException)
        {
            _inner = start;
            throw;
        }
    }

    /// <summary>Skips one whole value (see <see cref="Skip"/>) and returns its encoded bytes.</summary>
    public ReadOnlySpan<byte> ReadRawValue()
    {
        int start = Position;
        Skip();
        return _data[start..Position];
    }

    /// <summary>Each pending value takes at least one byte: fail now rather than walk to the end.</summary>
    private void CheckPending(long pending, int remaining, int startPosition)
    {
        if (pending > remaining)
        {
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"The value at offset {startPosition} still needs {pending} more values but only {remaining} bytes remain at offset {Position}."));
        }
    }

    private static ReadOnlySpan<byte> Contiguous(ReadOnlySequence<byte> sequence) =>
        sequence.IsSingleSegment ? sequence.FirstSpan : sequence.ToArray();

    /// <summary>The size of an integer value from its first byte; 0 when the byte starts no integer.</summary>
    private static int IntegerSize(byte code) => code switch
    {
        <= MaxPositiveFixInt or >= MinNegativeFixInt => 1,
        UInt8Code or Int8Code => 2,
        UInt16Code or Int16Code => 3,
        UInt32Code or Int32Code => 5,
        UInt64Code or Int64Code => 9,
        _ => 0,
    };

    /// <summary>The size of a nil, boolean, integer or float value from its first byte.</summary>
    private static int ScalarSize(byte code) => code switch
    {
        Nil or False or True => 1,
        Float32 => 5,
        Float64 => 9,
        _ => IntegerSize(code),
    };

    /// <summary>Returns the next <paramref name="count"/> bytes (first byte of the value included) without consuming them.</summary>
    private ReadOnlySpan<byte> Peek(int count)
    {
        int position = Position;
        if (count > _data.Length - position)
            ThrowTruncated(count);
        return _data.Slice(position, count);
    }

    private void CheckDeclaredLength(int header, long length, string unit)
    {
        int position = Position;
        long available = (long)_data.Length - position - header;
        if (length > available)
        {
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"The {FormatName(_data[position])} at offset {position} declares {length} {unit} but only {available} remain at offset {position + header}."));
        }
    }

    private void Expect(bool condition, string expected)
    {
        if (!condition)
            ThrowTypeMismatch(expected, PeekCode());
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
    private void ThrowTruncated(int count)
    {
        int position = Position;
        string what = position < _data.Length ? "the " + FormatName(_data[position]) + " value" : "the read";
        throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
            $"Unexpected end of data at offset {position}: {what} needs {count} bytes but only {Remaining} remain."));
    }

    [DoesNotReturn]
    private void ThrowTypeMismatch(string expected, byte code) =>
        throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
            $"Expected {expected} at offset {Position} but found {Describe(code)}."));

    [DoesNotReturn]
    private void ThrowOutOfRange(string value, string target) =>
        throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
            $"The integer {value} at offset {Position} does not fit in {target}."));
}
