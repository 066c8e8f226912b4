using System.Text;
using Tosc.Serialization;
using MessagePackWriter = MessagePack.MessagePackWriter;
using Xunit;
using static Tosc.Tests.Serialization.MessagePackTestKit;

namespace Tosc.Tests.Serialization;

/// <summary>Encodings against the msgpack spec and round trips through <see cref="MessagePackWriter"/> and <see cref="WireReader"/>.</summary>
public class MessagePackTests
{
    [Theory]
    [InlineData(0L, "00")]
    [InlineData(1L, "01")]
    [InlineData(127L, "7f")]
    [InlineData(128L, "cc80")]
    [InlineData(255L, "ccff")]
    [InlineData(256L, "cd0100")]
    [InlineData(300L, "cd012c")]
    [InlineData(65535L, "cdffff")]
    [InlineData(65536L, "ce00010000")]
    [InlineData(4294967295L, "ceffffffff")]
    [InlineData(4294967296L, "cf0000000100000000")]
    [InlineData(long.MaxValue, "cf7fffffffffffffff")]
    [InlineData(-1L, "ff")]
    [InlineData(-32L, "e0")]
    [InlineData(-33L, "d0df")]
    [InlineData(-128L, "d080")]
    [InlineData(-129L, "d1ff7f")]
    [InlineData(-32768L, "d18000")]
    [InlineData(-32769L, "d2ffff7fff")]
    [InlineData(-2147483648L, "d280000000")]
    [InlineData(-2147483649L, "d3ffffffff7fffffff")]
    [InlineData(long.MinValue, "d38000000000000000")]
    public void WriteInt64_UsesTheSmallestFormat_AndReadsBack(long value, string expectedHex)
    {
        byte[] bytes = Encode((ref MessagePackWriter w) => w.Write(value));

        Assert.Equal(expectedHex, Hex(bytes));
        Assert.Equal(value, ReadWhole(bytes, (ref WireReader r) => r.ReadInt64()));
        Assert.Equal((double)value, ReadWhole(bytes, (ref WireReader r) => r.ReadDouble()));
        Assert.Equal(MessagePackType.Integer, new WireReader(bytes).PeekType());
    }

    [Theory]
    [InlineData(0UL, "00")]
    [InlineData(127UL, "7f")]
    [InlineData(128UL, "cc80")]
    [InlineData(65536UL, "ce00010000")]
    [InlineData(4294967296UL, "cf0000000100000000")]
    [InlineData(9223372036854775808UL, "cf8000000000000000")]
    [InlineData(ulong.MaxValue, "cfffffffffffffffff")]
    public void WriteUInt64_UsesTheSmallestFormat_AndReadsBack(ulong value, string expectedHex)
    {
        byte[] bytes = Encode((ref MessagePackWriter w) => w.Write(value));

        Assert.Equal(expectedHex, Hex(bytes));
        Assert.Equal(value, ReadWhole(bytes, (ref WireReader r) => r.ReadUInt64()));
        Assert.Equal((double)value, ReadWhole(bytes, (ref WireReader r) => r.ReadDouble()));
    }

    [Fact]
    public void WriteInt32_EncodesLikeTheSameInt64()
    {
        foreach (int value in new[] { 0, 127, 128, -32, -33, short.MinValue, int.MinValue, int.MaxValue })
        {
            Assert.Equal(Hex(Encode((ref MessagePackWriter w) => w.Write((long)value))), Hex(Encode((ref MessagePackWriter w) => w.Write(value))));
            Assert.Equal(value, ReadWhole(Encode((ref MessagePackWriter w) => w.Write(value)), (ref WireReader r) => r.ReadInt32()));
        }
    }

    [Theory]
    [InlineData("d3 0000000000000005", 5L)]
    [InlineData("cf 0000000000000001", 1L)]
    [InlineData("d0 05", 5L)]
    [InlineData("d1 ffff", -1L)]
    [InlineData("ce 0000007f", 127L)]
    [InlineData("cc 00", 0L)]
    public void ReadInt64_AcceptsNonCanonicalFormats(string hex, long expected)
    {
        Assert.Equal(expected, ReadWhole(Bytes(hex), (ref WireReader r) => r.ReadInt64()));
    }

    [Fact]
    public void ReadUInt64_AcceptsSignedFormatsHoldingNonNegativeValues()
    {
        Assert.Equal(5UL, ReadWhole(Bytes("d3 0000000000000005"), (ref WireReader r) => r.ReadUInt64()));
        Assert.Equal(127UL, ReadWhole(Bytes("d0 7f"), (ref WireReader r) => r.ReadUInt64()));
    }

    [Fact]
    public void NilAndBooleans_EncodeAsTheSpecSays()
    {
        Assert.Equal("c0", Hex(Encode((ref MessagePackWriter w) => w.WriteNil())));
        Assert.Equal("c0", Hex(Encode((ref MessagePackWriter w) => w.WriteText(null))));
        Assert.Equal("c2", Hex(Encode((ref MessagePackWriter w) => w.Write(false))));
        Assert.Equal("c3", Hex(Encode((ref MessagePackWriter w) => w.Write(true))));

        Assert.True(ReadWhole(Bytes("c3"), (ref WireReader r) => r.ReadBoolean()));
        Assert.False(ReadWhole(Bytes("c2"), (ref WireReader r) => r.ReadBoolean()));
        Assert.Null(ReadWhole(Bytes("c0"), (ref WireReader r) => r.ReadString()));
        Assert.Equal(MessagePackType.Nil, new WireReader(Bytes("c0")).PeekType());
        Assert.Equal(MessagePackType.Boolean, new WireReader(Bytes("c2")).PeekType());
    }

    [Fact]
    public void TryReadNil_ConsumesOnlyNil()
    {
        var reader = new WireReader(Bytes("c0 01"));

        Assert.True(reader.TryReadNil());
        Assert.Equal(1, reader.Position);
        Assert.False(reader.TryReadNil());
        Assert.Equal(1, reader.Position);
        Assert.Equal(1, reader.ReadInt64());
        Assert.True(reader.End);
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void Floats_EncodeAsBigEndianIeee754()
    {
        Assert.Equal("ca3fc00000", Hex(Encode((ref MessagePackWriter w) => w.Write(1.5f))));
        Assert.Equal("cb3ff8000000000000", Hex(Encode((ref MessagePackWriter w) => w.Write(1.5))));
        Assert.Equal("cbc000000000000000", Hex(Encode((ref MessagePackWriter w) => w.Write(-2.0))));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(double.Epsilon)]
    [InlineData(double.MaxValue)]
    [InlineData(double.MinValue)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(double.NaN)]
    [InlineData(0.1)]
    public void Doubles_RoundTripBitForBit(double value)
    {
        byte[] bytes = Encode((ref MessagePackWriter w) => w.Write(value));

        Assert.Equal(9, bytes.Length);
        Assert.Equal(MessagePackType.Float, new WireReader(bytes).PeekType());
        double read = ReadWhole(bytes, (ref WireReader r) => r.ReadDouble());
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(read));
    }

    [Theory]
    [InlineData(0.0f)]
    [InlineData(3.14159f)]
    [InlineData(float.Epsilon)]
    [InlineData(float.MaxValue)]
    [InlineData(float.NegativeInfinity)]
    [InlineData(float.NaN)]
    public void Singles_RoundTripBitForBit(float value)
    {
        byte[] bytes = Encode((ref MessagePackWriter w) => w.Write(value));

        Assert.Equal(5, bytes.Length);
        float read = ReadWhole(bytes, (ref WireReader r) => r.ReadSingle());
        Assert.Equal(BitConverter.SingleToInt32Bits(value), BitConverter.SingleToInt32Bits(read));
        Assert.Equal((double)value, ReadWhole(bytes, (ref WireReader r) => r.ReadDouble()));
    }

    [Fact]
    public void NegativeZero_KeepsItsSign()
    {
        Assert.Equal("cb8000000000000000", Hex(Encode((ref MessagePackWriter w) => w.Write(-0.0))));
        Assert.Equal("ca80000000", Hex(Encode((ref MessagePackWriter w) => w.Write(-0.0f))));
        Assert.True(double.IsNegative(ReadWhole(Bytes("cb8000000000000000"), (ref WireReader r) => r.ReadDouble())));
        Assert.True(float.IsNegative(ReadWhole(Bytes("ca80000000"), (ref WireReader r) => r.ReadSingle())));
    }

    [Fact]
    public void ReadDouble_AcceptsIntegers()
    {
        Assert.Equal(-33.0, ReadWhole(Bytes("d0df"), (ref WireReader r) => r.ReadDouble()));
        Assert.Equal(7.0f, ReadWhole(Bytes("07"), (ref WireReader r) => r.ReadSingle()));
    }

    [Theory]
    [InlineData("", "a0")]
    [InlineData("a", "a161")]
    [InlineData("é", "a2c3a9")]
    [InlineData("€", "a3e282ac")]
    [InlineData("😀", "a4f09f9880")]
    public void Strings_EncodeAsUtf8InAFixStr(string value, string expectedHex)
    {
        byte[] bytes = Encode((ref MessagePackWriter w) => w.WriteText(value));

        Assert.Equal(expectedHex, Hex(bytes));
        Assert.Equal(value, ReadWhole(bytes, (ref WireReader r) => r.ReadString()));
    }

    [Theory]
    [InlineData(31, "bf")]
    [InlineData(32, "d920")]
    [InlineData(255, "d9ff")]
    [InlineData(256, "da0100")]
    [InlineData(1024, "da0400")]
    [InlineData(1025, "da0401")]
    [InlineData(65535, "daffff")]
    [InlineData(65536, "db00010000")]
    public void Strings_UseTheSmallestHeaderForTheirByteCount(int byteCount, string expectedHeaderHex)
    {
        string ascii = new('q', byteCount);
        byte[] bytes = Encode((ref MessagePackWriter w) => w.WriteText(ascii));

        Assert.Equal(expectedHeaderHex, Hex(bytes.AsSpan(0, expectedHeaderHex.Length / 2)));
        Assert.Equal(expectedHeaderHex.Length / 2 + byteCount, bytes.Length);
        Assert.Equal(ascii, ReadWhole(bytes, (ref WireReader r) => r.ReadString()));
        Assert.Equal(bytes, Encode((ref MessagePackWriter w) => w.WriteString(Encoding.UTF8.GetBytes(ascii))));
    }

    [Theory]
    [InlineData("€", 10, "be")] // 30 bytes: fixstr although 30 chars could need 90
    [InlineData("€", 11, "d921")] // 33 bytes
    [InlineData("€", 85, "d9ff")] // 255 bytes
    [InlineData("€", 86, "da0102")] // 258 bytes
    [InlineData("😀", 8, "d920")] // 16 chars, 32 bytes
    [InlineData("é", 15, "be")] // 30 bytes
    [InlineData("€", 400, "da04b0")] // 1200 bytes from 400 chars
    [InlineData("€", 30000, "db00015f90")] // 90000 bytes
    public void NonAsciiStrings_GetTheHeaderOfTheirUtf8Length(string unit, int repeat, string expectedHeaderHex)
    {
        string value = string.Concat(Enumerable.Repeat(unit, repeat));
        int byteCount = Encoding.UTF8.GetByteCount(value);
        byte[] bytes = Encode((ref MessagePackWriter w) => w.WriteText(value));
        int headerSize = expectedHeaderHex.Length / 2;

        Assert.Equal(expectedHeaderHex, Hex(bytes.AsSpan(0, headerSize)));
        Assert.Equal(headerSize + byteCount, bytes.Length);
        Assert.Equal(Encoding.UTF8.GetBytes(value), bytes.AsSpan(headerSize).ToArray());
        Assert.Equal(value, ReadWhole(bytes, (ref WireReader r) => r.ReadString()));
    }

    [Fact]
    public void Strings_WrittenAfterOtherValues_KeepTheEarlierBytes()
    {
        byte[] bytes = Encode(static (ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4);
            w.Write(300);
            w.WriteText(new string('z', 40));
            w.WriteText(new string('y', 20));
            w.WriteText("Grüße, 世界 😀");
        });

        var reader = new WireReader(bytes);
        Assert.Equal(4, reader.ReadArrayHeader());
        Assert.Equal(300, reader.ReadInt32());
        Assert.Equal(new string('z', 40), reader.ReadString());
        Assert.Equal(new string('y', 20), reader.ReadString());
        Assert.Equal("Grüße, 世界 😀", reader.ReadString());
        Assert.True(reader.End);
    }

    [Fact]
    public void ReadStringSpan_ReturnsTheStoredUtf8Bytes()
    {
        byte[] bytes = Encode((ref MessagePackWriter w) => w.WriteText("Grüße"));

        byte[] raw = ReadWhole(bytes, (ref WireReader r) => r.ReadStringSpan().ToArray());

        Assert.Equal(Encoding.UTF8.GetBytes("Grüße"), raw);
    }

    [Fact]
    public void Write_StringWithAnUnpairedSurrogate_ThrowsNamingTheSurrogate()
    {
        var e = Assert.Throws<ToscDataException>(() => Encode(static (ref MessagePackWriter w) => w.WriteText("ab\ud800c")));
        Assert.Contains("U+D800", e.Message, StringComparison.Ordinal);
        Assert.Contains("index 2", e.Message, StringComparison.Ordinal);

        string longOne = new string('a', 5000) + "\udc00";
        var e2 = Assert.Throws<ToscDataException>(() => Encode((ref MessagePackWriter w) => w.WriteText(longOne)));
        Assert.Contains("U+DC00", e2.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "c400")]
    [InlineData(1, "c401")]
    [InlineData(255, "c4ff")]
    [InlineData(256, "c50100")]
    [InlineData(65535, "c5ffff")]
    [InlineData(65536, "c600010000")]
    public void Binary_UsesTheSmallestBinFormat_AndReadsBack(int length, string expectedHeaderHex)
    {
        byte[] payload = new byte[length];
        new Random(length).NextBytes(payload);

        byte[] bytes = Encode((ref MessagePackWriter w) => w.WriteBinary(payload));

        Assert.Equal(expectedHeaderHex, Hex(bytes.AsSpan(0, expectedHeaderHex.Length / 2)));
        Assert.Equal(MessagePackType.Binary, new WireReader(bytes).PeekType());
        Assert.Equal(payload, ReadWhole(bytes, (ref WireReader r) => r.ReadBinary().ToArray()));
    }

    [Theory]
    [InlineData(0, "90", "80")]
    [InlineData(1, "91", "81")]
    [InlineData(15, "9f", "8f")]
    [InlineData(16, "dc0010", "de0010")]
    [InlineData(65535, "dcffff", "deffff")]
    [InlineData(65536, "dd00010000", "df00010000")]
    public void ContainerHeaders_UseTheSmallestFormat_AndReadBack(int count, string arrayHex, string mapHex)
    {
        byte[] array = Encode((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(count);
            for (int i = 0; i < count; i++)
            {
                w.Write(i % 100);
            }
        });
        byte[] map = Encode((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(count);
            for (int i = 0; i < count; i++)
            {
                w.Write(i % 100);
                w.WriteNil();
            }
        });

        Assert.Equal(arrayHex, Hex(array.AsSpan(0, arrayHex.Length / 2)));
        Assert.Equal(mapHex, Hex(map.AsSpan(0, mapHex.Length / 2)));

        var arrayReader = new WireReader(array);
        Assert.Equal(MessagePackType.Array, arrayReader.PeekType());
        Assert.Equal(count, arrayReader.ReadArrayHeader());
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(i % 100, arrayReader.ReadInt32());
        }

        Assert.True(arrayReader.End);

        var mapReader = new WireReader(map);
        Assert.Equal(MessagePackType.Map, mapReader.PeekType());
        Assert.Equal(count, mapReader.ReadMapHeader());
        Assert.Equal(map.Length - mapHex.Length / 2, mapReader.Remaining);
    }

    [Theory]
    [InlineData(1, "d405")]
    [InlineData(2, "d505")]
    [InlineData(4, "d605")]
    [InlineData(8, "d705")]
    [InlineData(16, "d805")]
    [InlineData(0, "c70005")]
    [InlineData(3, "c70305")]
    [InlineData(17, "c71105")]
    [InlineData(255, "c7ff05")]
    [InlineData(256, "c8010005")]
    [InlineData(65535, "c8ffff05")]
    [InlineData(65536, "c90001000005")]
    public void Extensions_UseFixExtForExactSizes_ElseTheSmallestExt(int length, string expectedHeaderHex)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);

        byte[] bytes = Encode((ref MessagePackWriter w) => w.WriteExtension(5, data));

        Assert.Equal(expectedHeaderHex, Hex(bytes.AsSpan(0, expectedHeaderHex.Length / 2)));
        Assert.Equal(expectedHeaderHex.Length / 2 + length, bytes.Length);
        var reader = new WireReader(bytes);
        Assert.Equal(MessagePackType.Extension, reader.PeekType());
        (sbyte typeCode, int readLength) = reader.ReadExtensionHeader();
        Assert.Equal(5, typeCode);
        Assert.Equal(length, readLength);
        Assert.Equal(data, reader.ReadRaw(readLength).ToArray());
        Assert.True(reader.End);
    }

    [Fact]
    public void FixExt8_WithANegativeType_MatchesTheSpecLayout()
    {
        byte[] bytes = Encode((ref MessagePackWriter w) =>
        {
            w.WriteExtensionFormatHeader(new MessagePack.ExtensionHeader(-1, 8));
            w.WriteRaw(Bytes("0102030405060708"));
        });

        Assert.Equal("d7ff0102030405060708", Hex(bytes));
        var reader = new WireReader(bytes);
        Assert.Equal(((sbyte)-1, 8), reader.ReadExtensionHeader());
    }

    [Fact]
    public void NestedArraysAndMaps_ReadBackInOrder()
    {
        byte[] bytes = Encode((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.WriteText("list");
            w.WriteArrayHeader(3);
            w.Write(1);
            w.WriteArrayHeader(2);
            w.WriteText("x");
            w.WriteMapHeader(1);
            w.WriteText("k");
            w.Write(-7);
            w.WriteNil();
            w.WriteText("flag");
            w.Write(true);
        });

        var r = new WireReader(bytes);
        Assert.Equal(2, r.ReadMapHeader());
        Assert.Equal("list", r.ReadString());
        Assert.Equal(3, r.ReadArrayHeader());
        Assert.Equal(1, r.ReadInt64());
        Assert.Equal(2, r.ReadArrayHeader());
        Assert.Equal("x", r.ReadString());
        Assert.Equal(1, r.ReadMapHeader());
        Assert.Equal("k", r.ReadString());
        Assert.Equal(-7, r.ReadInt32());
        r.ReadNil();
        Assert.Equal("flag", r.ReadString());
        Assert.True(r.ReadBoolean());
        Assert.True(r.End);
    }

    [Fact]
    public void Skip_PassesOverEachValueOfTheRichDocument()
    {
        byte[] document = RichDocument();
        byte[] bytes = [.. document, 0x2a];

        var reader = new WireReader(bytes);
        reader.Skip();

        Assert.Equal(document.Length, reader.Position);
        Assert.Equal(42, reader.ReadInt64());
    }

    [Fact]
    public void Skip_InsideAMap_SkipsExactlyOneValue()
    {
        byte[] document = RichDocument();
        var reader = new WireReader(document);
        int pairs = reader.ReadMapHeader();
        var keys = new List<string?>();
        for (int i = 0; i < pairs; i++)
        {
            keys.Add(reader.ReadString());
            reader.Skip();
        }

        Assert.Equal(["nil", "bools", "ints", "big", "floats", "strings", "bin", "ext", "nested"], keys);
        Assert.True(reader.End);
    }

    [Fact]
    public void ReadRawValue_ReturnsTheEncodedBytesOfOneValue()
    {
        byte[] document = RichDocument();
        byte[] bytes = [.. document, 0x2a];
        var reader = new WireReader(bytes);

        byte[] raw = reader.ReadRawValue().ToArray();

        Assert.Equal(document, raw);
        Assert.Equal(42, reader.ReadInt64());
        Fails(document[..^1], (ref WireReader r) => r.ReadRawValue());
    }

    [Fact]
    public void TypedReads_ReadTheWholeRichDocument()
    {
        byte[] document = RichDocument();
        var reader = new WireReader(document);

        ReadAnyWithTypedReads(ref reader);

        Assert.True(reader.End);
    }

    [Theory]
    [InlineData("c0")]
    [InlineData("c3")]
    [InlineData("7f")]
    [InlineData("e0")]
    [InlineData("cc ff")]
    [InlineData("cd ffff")]
    [InlineData("ce ffffffff")]
    [InlineData("cf ffffffffffffffff")]
    [InlineData("d0 80")]
    [InlineData("d1 8000")]
    [InlineData("d2 80000000")]
    [InlineData("d3 8000000000000000")]
    [InlineData("ca 3fc00000")]
    [InlineData("cb 3ff8000000000000")]
    [InlineData("a3 616263")]
    [InlineData("d9 03 616263")]
    [InlineData("da 0003 616263")]
    [InlineData("db 00000003 616263")]
    [InlineData("c4 02 0102")]
    [InlineData("c5 0002 0102")]
    [InlineData("c6 00000002 0102")]
    [InlineData("d4 01 aa")]
    [InlineData("d5 01 aabb")]
    [InlineData("d6 01 aabbccdd")]
    [InlineData("d7 01 0102030405060708")]
    [InlineData("d8 01 0102030405060708090a0b0c0d0e0f10")]
    [InlineData("c7 02 01 aabb")]
    [InlineData("c8 0002 01 aabb")]
    [InlineData("c9 00000002 01 aabb")]
    [InlineData("90")]
    [InlineData("92 01 02")]
    [InlineData("dc 0001 c0")]
    [InlineData("dd 00000001 c0")]
    [InlineData("80")]
    [InlineData("81 01 02")]
    [InlineData("de 0001 01 02")]
    [InlineData("df 00000001 01 02")]
    [InlineData("91 91 91 81 a1 61 92 c0 c3")]
    public void Skip_PassesOverOneValueOfEveryFormat(string hex)
    {
        byte[] value = Bytes(hex);
        byte[] bytes = [.. value, 0x2a];

        var reader = new WireReader(bytes);
        reader.Skip();

        Assert.Equal(value.Length, reader.Position);
        Assert.Equal(42, reader.ReadInt64());
    }

    [Fact]
    public void PeekType_ClassifiesEveryFirstByteAsTheSpecTableSays()
    {
        for (int code = 0; code < 256; code++)
        {
            if (code == 0xc1)
            {
                continue;
            }

            MessagePackType expected = code switch
            {
                < 0x80 => MessagePackType.Integer,
                < 0x90 => MessagePackType.Map,
                < 0xa0 => MessagePackType.Array,
                < 0xc0 => MessagePackType.String,
                0xc0 => MessagePackType.Nil,
                0xc2 or 0xc3 => MessagePackType.Boolean,
                0xc4 or 0xc5 or 0xc6 => MessagePackType.Binary,
                0xc7 or 0xc8 or 0xc9 => MessagePackType.Extension,
                0xca or 0xcb => MessagePackType.Float,
                >= 0xcc and <= 0xd3 => MessagePackType.Integer,
                >= 0xd4 and <= 0xd8 => MessagePackType.Extension,
                0xd9 or 0xda or 0xdb => MessagePackType.String,
                0xdc or 0xdd => MessagePackType.Array,
                0xde or 0xdf => MessagePackType.Map,
                _ => MessagePackType.Integer,
            };
            var reader = new WireReader(new[] { (byte)code });

            Assert.Equal(expected, reader.PeekType());
            Assert.Equal(code, reader.PeekCode());
            Assert.Equal(0, reader.Position);
        }
    }

    [Fact]
    public void WritingAndReadingWithoutStrings_AllocatesNothingOnceTheBufferIsLargeEnough()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1 << 16);
        byte[] payload = [1, 2, 3, 4, 5, 6, 7, 8];
        WriteSample(buffer, payload);
        buffer.ResetWrittenCount();

        long before = GC.GetAllocatedBytesForCurrentThread();
        WriteSample(buffer, payload);
        var reader = new WireReader(buffer.WrittenMemory);
        long sum = 0;
        int count = reader.ReadArrayHeader();
        for (int i = 0; i < count; i++)
        {
            reader.Skip();
        }

        reader = new WireReader(buffer.WrittenMemory);
        reader.ReadArrayHeader();
        for (int i = 0; i < 100; i++)
        {
            sum += reader.ReadInt64();
            sum += (long)reader.ReadDouble();
            sum += reader.ReadStringSpan().Length;
            sum += reader.ReadBinary().Length;
            sum += reader.ReadExtensionHeader().Length;
            sum += reader.ReadRaw(8).Length;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(sum != 0);
    }

    private static void WriteSample(System.Buffers.ArrayBufferWriter<byte> buffer, byte[] payload)
    {
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(500);
        for (int i = 0; i < 100; i++)
        {
            writer.Write(i * 1_000_003L - 50_000_000);
            writer.Write(i * 0.5);
            writer.WriteText("name");
            writer.WriteBinary(payload);
            writer.WriteExtension(3, payload);
        }

        writer.Flush();
    }

    [Fact]
    public void Writer_GrowsFromZeroCapacityAcrossManyValues()
    {
        byte[] bytes = Encode(static (ref MessagePackWriter writer) =>
        {
            for (int i = 0; i < 100_000; i++)
            {
                writer.Write(i);
            }
        });

        var reader = new WireReader(bytes);
        for (int i = 0; i < 100_000; i++)
        {
            Assert.Equal(i, reader.ReadInt32());
        }

        Assert.True(reader.End);
    }
}
