namespace Tosc.Serialization;

/// <summary>The constants of the stored format (docs/wire-format.md is the reference for other languages).</summary>
internal static class WireFormat
{
    /// <summary>"TOSC" then the format version and a flags byte.</summary>
    public static ReadOnlySpan<byte> Magic => "TOSC"u8;

    /// <summary>The newest format this Tosc reads. Version 1: plain MessagePack; version 2: the same, compressed (header flags).</summary>
    public const byte FormatVersion = 2;

    /// <summary>The version plain values are written with, so every Tosc since the first reads them.</summary>
    public const byte PlainVersion = 1;

    public const int HeaderLength = 6;

    /// <summary>Header flag (version 2): the value is an LZ4 block, after its uncompressed length as a big-endian uint32.</summary>
    public const byte Lz4Flag = 0x01;

    /// <summary>Header flag (version 2): the bytes are a log record (docs/wire-format.md, "Log records"), not a whole value.</summary>
    public const byte LogRecordFlag = 0x02;

    private const byte KnownFlags = Lz4Flag;

    /// <summary>Nesting deeper than this is rejected on write and on read (protects the stack).</summary>
    public const int MaxDepth = 512;

    // Extension type codes. A MessagePack array in a Tosc store always starts with one of the
    // marker extensions below, so every value is self-describing.
    public const sbyte ListNode = 1;      // [fixext8(1, id), item...]
    public const sbyte DictNode = 2;      // [fixext8(2, id), {key: value...}]
    public const sbyte SetNode = 3;       // [fixext8(3, id), item...]
    public const sbyte BytesNode = 4;     // [fixext8(4, id), bin]
    public const sbyte ObjectNode = 5;    // [fixext8(5, id), type, {property: value...}]
    public const sbyte Reference = 6;     // fixext8(6, id): the node with that id, written earlier
    public const sbyte ValueObject = 7;   // [fixext1(7, 0), type, {property: value...}] immutable (records, structs)
    public const sbyte ArrayValue = 8;    // [fixext1(8, 0), item...] immutable T[]
    public const sbyte EnumValue = 9;
    public const sbyte CounterNode = 10;  // [fixext8(10, id), int64] a DCounter     // [fixext1(9, 0), type, integer] an enum held by an object-typed member

    public const sbyte Decimal = 16;      // fixext16: the four int32 of decimal.GetBits, big-endian
    public const sbyte DateTime = 17;     // ext 9: kind (0 unspecified, 1 utc, 2 local clock of earlier releases, 3 local as a UTC instant), ticks int64
    public const sbyte DateTimeOffset = 18; // ext 10: clock ticks int64, offset minutes int16
    public const sbyte TimeSpan = 19;     // fixext8: ticks int64
    public const sbyte Guid = 20;         // fixext16: RFC 4122 byte order
    public const sbyte TaggedInteger = 21; // ext 9: integer kind byte, value 8 bytes; only where the member is object-typed

    /// <summary>Integer kinds of <see cref="TaggedInteger"/>.</summary>
    public enum IntegerKind : byte
    {
        SByte = 1,
        Byte = 2,
        Int16 = 3,
        UInt16 = 4,
        Int64 = 6,
        UInt32 = 7,
        UInt64 = 8,
        Char = 9,
    }

    public static void WriteHeader(ref MessagePack.MessagePackWriter writer) => writer.WriteBytes([.. Magic, PlainVersion, 0]);

    public static void WriteHeader(Span<byte> destination, byte version, byte flags)
    {
        Magic.CopyTo(destination);
        destination[4] = version;
        destination[5] = flags;
    }

    /// <summary>Checks the header and returns the root value's MessagePack bytes, decompressed when the header says so.</summary>
    public static ReadOnlyMemory<byte> OpenValue(ReadOnlyMemory<byte> stored)
    {
        var flags = ReadHeader(stored.Span, "The stored value");
        if ((flags & LogRecordFlag) != 0)
            throw new ToscDataException("The stored bytes are a log record, not a whole value: the store's layout is damaged, or a backend returned a record as a snapshot.");
        var value = stored[HeaderLength..];
        return (flags & Lz4Flag) != 0 ? Lz4Compression.Decompress(value.Span) : value;
    }

    /// <summary>Checks the header of a log record (docs/wire-format.md, "Log records") and returns what follows it.</summary>
    public static ReadOnlyMemory<byte> OpenRecord(ReadOnlyMemory<byte> stored)
    {
        var flags = ReadHeader(stored.Span, "A log record");
        if (stored.Span[4] < 2 || flags != LogRecordFlag)
            throw new ToscDataException($"The bytes in the store's log are not a log record (format version {stored.Span[4]}, flags 0x{flags:x2}).");
        return stored[HeaderLength..];
    }

    /// <summary>Checks what every header must satisfy (magic, a version this Tosc reads, known flags) and returns the flags.</summary>
    private static byte ReadHeader(ReadOnlySpan<byte> data, string subject)
    {
        if (data.Length < HeaderLength || !data[..4].SequenceEqual(Magic))
            throw new ToscDataException($"{subject} is not Tosc data (the \"TOSC\" header is missing).");
        if (data[4] > FormatVersion)
            throw new ToscDataException($"{subject} uses format version {data[4]}, newer than this Tosc supports ({FormatVersion}); upgrade Tosc to read it.");
        if (data[4] == 0)
            throw new ToscDataException($"{subject} declares format version 0, which does not exist.");
        var flags = data[5];
        if ((flags & ~(KnownFlags | LogRecordFlag)) != 0)
            throw new ToscDataException($"{subject} sets header flags 0x{flags:x2}, which this Tosc does not know (it knows 0x{KnownFlags:x2}); upgrade Tosc to read it.");
        return flags;
    }
}
