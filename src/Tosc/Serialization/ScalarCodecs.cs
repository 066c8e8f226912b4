using System.Buffers.Binary;
using MessagePack;

namespace Tosc.Serialization;

// Scalars in typed positions use MessagePack's natural forms; the extension types carry what
// MessagePack has no type for (decimal, DateTime with its kind, DateTimeOffset, TimeSpan, Guid).

internal sealed class BooleanCodec : ValueCodec<bool>
{
    public override void Write(ref GraphWriter writer, bool value) => writer.Msg.Write(value);

    public override bool Read(ref GraphReader reader) => reader.Msg.ReadBoolean();
}

internal sealed class StringCodec : ValueCodec<string?>
{
    public override void Write(ref GraphWriter writer, string? value) => writer.Msg.WriteText(value);

    public override string? Read(ref GraphReader reader) => reader.Msg.ReadString();
}

internal sealed class DoubleCodec : ValueCodec<double>
{
    public override void Write(ref GraphWriter writer, double value) => writer.Msg.Write(value);

    public override double Read(ref GraphReader reader) => reader.Msg.ReadDouble();
}

internal sealed class SingleCodec : ValueCodec<float>
{
    public override void Write(ref GraphWriter writer, float value) => writer.Msg.Write(value);

    public override float Read(ref GraphReader reader) => reader.Msg.ReadSingle();
}

/// <summary>All integer types: written in the smallest MessagePack form, read back with a range check.</summary>
internal sealed class IntegerCodec<T> : ValueCodec<T> where T : struct
{
    private readonly Func<T, long>? _toSigned;
    private readonly Func<long, T> _fromSigned;
    private readonly long _min;
    private readonly ulong _max;

    public IntegerCodec(Func<T, long>? toSigned, Func<long, T> fromSigned, long min, ulong max)
    {
        _toSigned = toSigned;
        _fromSigned = fromSigned;
        _min = min;
        _max = max;
    }

    public override void Write(ref GraphWriter writer, T value)
    {
        if (_toSigned is null)
            writer.Msg.Write((ulong)(object)value);
        else
            writer.Msg.Write(_toSigned(value));
    }

    public override T Read(ref GraphReader reader)
    {
        var offset = reader.Msg.Position;
        if (_toSigned is null)
        {
            var unsigned = Integers.ReadUnsigned(ref reader.Msg);
            return (T)(object)unsigned;
        }
        var value = Integers.ReadSigned(ref reader.Msg);
        if (value < _min || (value > 0 && (ulong)value > _max))
            throw new ToscDataException($"The stored integer {value} does not fit in {typeof(T).Name} (offset {offset}).");
        return _fromSigned(value);
    }
}

internal static class Integers
{
    public static long ReadSigned(ref WireReader msg)
    {
        if (msg.PeekType() == MessagePackType.Extension)
            return (long)ReadTagged(ref msg, out _);
        return msg.ReadInt64();
    }

    public static ulong ReadUnsigned(ref WireReader msg)
    {
        if (msg.PeekType() == MessagePackType.Extension)
            return ReadTagged(ref msg, out _);
        return msg.ReadUInt64();
    }

    /// <summary>Reads a <see cref="WireFormat.TaggedInteger"/>: 8 value bytes, two's complement for signed kinds.</summary>
    public static ulong ReadTagged(ref WireReader msg, out WireFormat.IntegerKind kind)
    {
        var offset = msg.Position;
        var (type, length) = msg.ReadExtensionHeader();
        if (type != WireFormat.TaggedInteger || length != 9)
            throw new ToscDataException($"Expected an integer but found extension {type} of {length} bytes (offset {offset}).");
        var bytes = msg.ReadRaw(9);
        kind = (WireFormat.IntegerKind)bytes[0];
        return BinaryPrimitives.ReadUInt64BigEndian(bytes[1..]);
    }

    public static void WriteTagged(ref MessagePackWriter msg, WireFormat.IntegerKind kind, ulong bits)
    {
        Span<byte> bytes = stackalloc byte[9];
        bytes[0] = (byte)kind;
        BinaryPrimitives.WriteUInt64BigEndian(bytes[1..], bits);
        msg.WriteExtension(WireFormat.TaggedInteger, bytes);
    }
}

internal sealed class CharCodec : ValueCodec<char>
{
    public override void Write(ref GraphWriter writer, char value) => writer.Msg.Write((long)value);

    public override char Read(ref GraphReader reader)
    {
        var offset = reader.Msg.Position;
        var value = Integers.ReadSigned(ref reader.Msg);
        return value is >= char.MinValue and <= char.MaxValue
            ? (char)value
            : throw new ToscDataException($"The stored value {value} is not a char (offset {offset}).");
    }
}

internal sealed class DecimalCodec : ValueCodec<decimal>
{
    public override void Write(ref GraphWriter writer, decimal value)
    {
        Span<int> parts = stackalloc int[4];
        decimal.GetBits(value, parts);
        Span<byte> bytes = stackalloc byte[16];
        for (var i = 0; i < 4; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes[(i * 4)..], parts[i]);
        writer.Msg.WriteExtension(WireFormat.Decimal, bytes);
    }

    public override decimal Read(ref GraphReader reader) => Read(ref reader.Msg);

    public static decimal Read(ref WireReader msg)
    {
        var bytes = Extensions.Read(ref msg, WireFormat.Decimal, 16, "decimal", out var offset);
        Span<int> parts = stackalloc int[4];
        for (var i = 0; i < 4; i++)
            parts[i] = BinaryPrimitives.ReadInt32BigEndian(bytes[(i * 4)..]);
        try
        {
            return new decimal(parts);
        }
        catch (ArgumentException e)
        {
            throw new ToscDataException($"The stored decimal is malformed (offset {offset}).", e);
        }
    }
}

internal sealed class DateTimeCodec : ValueCodec<DateTime>
{
    // The kind byte. A local time is stored as the instant it names (its UTC ticks), so a reader in another time zone
    // sees the same moment, shown on its own clock. Releases before this one wrote LocalWallClock (the writer's clock
    // ticks, which a reader elsewhere took for a different instant); those bytes keep their meaning.
    private const byte Unspecified = 0;
    private const byte Utc = 1;
    private const byte LocalWallClock = 2;
    private const byte LocalInstant = 3;

    public override void Write(ref GraphWriter writer, DateTime value)
    {
        Span<byte> bytes = stackalloc byte[9];
        var (kind, ticks) = value.Kind switch
        {
            DateTimeKind.Utc => (Utc, value.Ticks),
            DateTimeKind.Local => (LocalInstant, value.ToUniversalTime().Ticks),
            _ => (Unspecified, value.Ticks),
        };
        bytes[0] = kind;
        BinaryPrimitives.WriteInt64BigEndian(bytes[1..], ticks);
        writer.Msg.WriteExtension(WireFormat.DateTime, bytes);
    }

    public override DateTime Read(ref GraphReader reader) => Read(ref reader.Msg);

    public static DateTime Read(ref WireReader msg)
    {
        var bytes = Extensions.Read(ref msg, WireFormat.DateTime, 9, "DateTime", out var offset);
        var ticks = BinaryPrimitives.ReadInt64BigEndian(bytes[1..]);
        if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks)
            throw new ToscDataException($"The stored DateTime is out of range (offset {offset}).");
        return bytes[0] switch
        {
            Unspecified => new DateTime(ticks, DateTimeKind.Unspecified),
            Utc => new DateTime(ticks, DateTimeKind.Utc),
            LocalWallClock => new DateTime(ticks, DateTimeKind.Local),
            LocalInstant => new DateTime(ticks, DateTimeKind.Utc).ToLocalTime(),
            var kind => throw new ToscDataException($"The stored DateTime has kind {kind}, which this Tosc does not know (offset {offset})."),
        };
    }
}

internal sealed class DateTimeOffsetCodec : ValueCodec<DateTimeOffset>
{
    public override void Write(ref GraphWriter writer, DateTimeOffset value)
    {
        Span<byte> bytes = stackalloc byte[10];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value.Ticks);
        BinaryPrimitives.WriteInt16BigEndian(bytes[8..], (short)value.TotalOffsetMinutes);
        writer.Msg.WriteExtension(WireFormat.DateTimeOffset, bytes);
    }

    public override DateTimeOffset Read(ref GraphReader reader) => Read(ref reader.Msg);

    public static DateTimeOffset Read(ref WireReader msg)
    {
        var bytes = Extensions.Read(ref msg, WireFormat.DateTimeOffset, 10, "DateTimeOffset", out var offset);
        try
        {
            return new DateTimeOffset(BinaryPrimitives.ReadInt64BigEndian(bytes), TimeSpan.FromMinutes(BinaryPrimitives.ReadInt16BigEndian(bytes[8..])));
        }
        catch (ArgumentException e)
        {
            throw new ToscDataException($"The stored DateTimeOffset is out of range (offset {offset}).", e);
        }
    }
}

internal sealed class TimeSpanCodec : ValueCodec<TimeSpan>
{
    public override void Write(ref GraphWriter writer, TimeSpan value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value.Ticks);
        writer.Msg.WriteExtension(WireFormat.TimeSpan, bytes);
    }

    public override TimeSpan Read(ref GraphReader reader) => Read(ref reader.Msg);

    public static TimeSpan Read(ref WireReader msg) =>
        new(BinaryPrimitives.ReadInt64BigEndian(Extensions.Read(ref msg, WireFormat.TimeSpan, 8, "TimeSpan", out _)));
}

internal sealed class GuidCodec : ValueCodec<Guid>
{
    public override void Write(ref GraphWriter writer, Guid value)
    {
        Span<byte> bytes = stackalloc byte[16];
        value.TryWriteBytes(bytes, bigEndian: true, out _);
        writer.Msg.WriteExtension(WireFormat.Guid, bytes);
    }

    public override Guid Read(ref GraphReader reader) => Read(ref reader.Msg);

    public static Guid Read(ref WireReader msg) =>
        new(Extensions.Read(ref msg, WireFormat.Guid, 16, "Guid", out _), bigEndian: true);
}

/// <summary>byte[] is an immutable value stored as MessagePack bin.</summary>
internal sealed class ByteArrayCodec : ValueCodec<byte[]?>
{
    public override void Write(ref GraphWriter writer, byte[]? value)
    {
        if (value is null)
            writer.Msg.WriteNil();
        else
            writer.Msg.WriteBinary(value);
    }

    public override byte[]? Read(ref GraphReader reader) => reader.Msg.TryReadNil() ? null : reader.Msg.ReadBinary().ToArray();
}

internal sealed class NullableCodec<T> : ValueCodec<T?> where T : struct
{
    private readonly ValueCodec<T> _inner = Codecs.Get<T>();

    public override bool MayHoldNodes => _inner.MayHoldNodes;

    public override bool Freezes => _inner.Freezes;

    public override void Write(ref GraphWriter writer, T? value)
    {
        if (value.HasValue)
            _inner.Write(ref writer, value.GetValueOrDefault());
        else
            writer.Msg.WriteNil();
    }

    public override T? Read(ref GraphReader reader) => reader.Msg.TryReadNil() ? null : _inner.Read(ref reader);

    public override T? Freeze(T? value) => value.HasValue ? _inner.Freeze(value.GetValueOrDefault()) : value;
}

/// <summary>Enums in typed positions are their underlying integer.</summary>
internal sealed class EnumCodec<T> : ValueCodec<T> where T : struct, Enum
{
    private static readonly bool s_unsigned = Type.GetTypeCode(Enum.GetUnderlyingType(typeof(T))) is TypeCode.Byte or TypeCode.UInt16 or TypeCode.UInt32 or TypeCode.UInt64;

    public override void Write(ref GraphWriter writer, T value)
    {
        if (s_unsigned)
            writer.Msg.Write(Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture));
        else
            writer.Msg.Write(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
    }

    public override T Read(ref GraphReader reader)
    {
        var raw = s_unsigned ? (object)Integers.ReadUnsigned(ref reader.Msg) : Integers.ReadSigned(ref reader.Msg);
        return (T)Enum.ToObject(typeof(T), raw);
    }
}

internal static class Extensions
{
    public static ReadOnlySpan<byte> Read(ref WireReader msg, sbyte expectedType, int expectedLength, string what, out int offset)
    {
        offset = msg.Position;
        if (msg.PeekType() != MessagePackType.Extension)
            throw new ToscDataException($"Expected a {what} but found {msg.PeekType()} (offset {offset}).");
        var (type, length) = msg.ReadExtensionHeader();
        if (type != expectedType || length != expectedLength)
            throw new ToscDataException($"Expected a {what} but found extension {type} of {length} bytes (offset {offset}).");
        return msg.ReadRaw(length);
    }
}
