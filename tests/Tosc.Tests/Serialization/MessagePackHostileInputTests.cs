using Tosc.Serialization;
using MessagePackWriter = MessagePack.MessagePackWriter;
using Xunit;
using static Tosc.Tests.Serialization.MessagePackTestKit;

namespace Tosc.Tests.Serialization;

/// <summary>Malformed, truncated and hostile bytes end in <see cref="ToscDataException"/>, never in another exception.</summary>
public class MessagePackHostileInputTests
{
    [Fact]
    public void Skip_OnEveryTruncationOfAValidDocument_ThrowsToscDataException()
    {
        byte[] document = RichDocument();

        for (int length = 0; length < document.Length; length++)
        {
            byte[] prefix = document[..length];
            var e = Fails(prefix, (ref WireReader r) => r.Skip());
            Assert.Contains("offset", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TypedReads_OnEveryTruncationOfAValidDocument_ThrowToscDataException()
    {
        byte[] document = RichDocument();

        for (int length = 0; length < document.Length; length++)
        {
            byte[] prefix = document[..length];
            Fails(prefix, (ref WireReader r) => ReadAnyWithTypedReads(ref r));
        }
    }

    [Theory]
    [InlineData("cc ff")]
    [InlineData("cd ffff")]
    [InlineData("ce ffffffff")]
    [InlineData("d0 80")]
    [InlineData("d1 8000")]
    [InlineData("d2 80000000")]
    [InlineData("d3 8000000000000000")]
    public void ReadInt64_OnEveryTruncation_NamesTheFormatAndOffset(string hex)
    {
        byte[] bytes = Bytes(hex);
        for (int length = 1; length < bytes.Length; length++)
        {
            var e = Fails(bytes[..length], (ref WireReader r) => r.ReadInt64());
            Assert.Contains("end of data at offset 0", e.Message, StringComparison.Ordinal);
            Assert.Contains(MessagePackCode.FormatName(bytes[0]), e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("ca 3fc00000")]
    [InlineData("cb 3ff8000000000000")]
    [InlineData("cf ffffffffffffffff")]
    public void ReadDouble_OnEveryTruncation_ThrowsToscDataException(string hex)
    {
        byte[] bytes = Bytes(hex);
        for (int length = 0; length < bytes.Length; length++)
        {
            Fails(bytes[..length], (ref WireReader r) => r.ReadDouble());
        }
    }

    [Fact]
    public void EveryRead_AtTheEnd_ThrowsNamingTheOffset()
    {
        byte[] bytes = Bytes("01");
        ReaderAction[] reads =
        [
            (ref WireReader r) => r.PeekType(),
            (ref WireReader r) => r.PeekCode(),
            (ref WireReader r) => r.TryReadNil(),
            (ref WireReader r) => r.ReadNil(),
            (ref WireReader r) => r.ReadBoolean(),
            (ref WireReader r) => r.ReadInt64(),
            (ref WireReader r) => r.ReadUInt64(),
            (ref WireReader r) => r.ReadInt32(),
            (ref WireReader r) => r.ReadDouble(),
            (ref WireReader r) => r.ReadSingle(),
            (ref WireReader r) => r.ReadString(),
            (ref WireReader r) => r.ReadStringSpan(),
            (ref WireReader r) => r.ReadBinary(),
            (ref WireReader r) => r.ReadArrayHeader(),
            (ref WireReader r) => r.ReadMapHeader(),
            (ref WireReader r) => r.ReadExtensionHeader(),
            (ref WireReader r) => r.ReadRaw(1),
            (ref WireReader r) => r.Skip(),
        ];

        foreach (ReaderAction read in reads)
        {
            var e = Fails(bytes, (ref WireReader r) =>
            {
                r.ReadInt64();
                read(ref r);
            });
            Assert.Contains("end of data at offset 1", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("db ffffffff 616263", "str 32", 5)]
    [InlineData("c6 ffffffff 010203", "bin 32", 5)]
    [InlineData("da ffff 61", "str 16", 3)]
    [InlineData("c5 ffff 01", "bin 16", 3)]
    [InlineData("d9 ff 61", "str 8", 2)]
    [InlineData("c4 05 0102", "bin 8", 2)]
    [InlineData("bf 61", "fixstr", 1)]
    public void HugeDeclaredPayloadLengths_ThrowWithoutAllocatingThem(string hex, string format, int headerSize)
    {
        byte[] bytes = Bytes(hex);
        bool isString = format.Contains("str", StringComparison.Ordinal);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = isString
            ? Fails(bytes, (ref WireReader r) => r.ReadString())
            : Fails(bytes, (ref WireReader r) => r.ReadBinary());
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.StartsWith($"The {format} at offset 0 declares", e.Message, StringComparison.Ordinal);
        Assert.Contains($"but only {bytes.Length - headerSize} remain at offset {headerSize}", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 200_000, $"Allocated {allocated} bytes.");
        Fails(bytes, (ref WireReader r) => r.Skip());
    }

    [Fact]
    public void Str32DeclaringFourGibibytes_NamesTheDeclaredAndRemainingBytes()
    {
        var e = Fails("db ffffffff 616263", (ref WireReader r) => r.ReadString());

        Assert.Equal("The str 32 at offset 0 declares 4294967295 bytes but only 3 remain at offset 5.", e.Message);
    }

    [Theory]
    [InlineData("dd ffffffff c0c0", "array 32")]
    [InlineData("df ffffffff c0c0", "map 32")]
    [InlineData("dc ffff c0", "array 16")]
    [InlineData("de ffff c0", "map 16")]
    [InlineData("93 c0 c0", "fixarray")]
    [InlineData("82 c0 c0 c0", "fixmap")]
    public void ContainerCountsLargerThanTheRemainingBytes_Throw(string hex, string format)
    {
        byte[] bytes = Bytes(hex);
        bool isArray = format.Contains("array", StringComparison.Ordinal);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = isArray
            ? Fails(bytes, (ref WireReader r) => r.ReadArrayHeader())
            : Fails(bytes, (ref WireReader r) => r.ReadMapHeader());
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.StartsWith($"The {format} at offset 0 declares", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 200_000, $"Allocated {allocated} bytes.");
        Fails(bytes, (ref WireReader r) => r.Skip());
    }

    [Fact]
    public void ContainerCountsThatFitTheRemainingBytes_AreAccepted()
    {
        var array = new WireReader(Bytes("93 c0 c0 c0"));
        Assert.Equal(3, array.ReadArrayHeader());

        var map = new WireReader(Bytes("82 c0 c0 c0 c0"));
        Assert.Equal(2, map.ReadMapHeader());
    }

    [Theory]
    [InlineData("c9 ffffffff 01 aabb")]
    [InlineData("c8 ffff 01 aabb")]
    [InlineData("c7 03 01 aabb")]
    [InlineData("d8 01 aabb")]
    [InlineData("d4 01")]
    public void ExtensionLengthsLargerThanTheRemainingBytes_Throw(string hex)
    {
        var e = Fails(hex, (ref WireReader r) => r.ReadExtensionHeader());

        Assert.Contains("at offset 0 declares", e.Message, StringComparison.Ordinal);
        Fails(hex, (ref WireReader r) => r.Skip());
    }

    [Fact]
    public void ReadRaw_PastTheEnd_ThrowsToscDataException()
    {
        var e2 = Fails("01 aabb", (ref WireReader r) =>
        {
            r.ReadInt64();
            r.ReadRaw(3);
        });
        Assert.Contains("offset 1", e2.Message, StringComparison.Ordinal);
        Assert.Contains("only 2 remain", e2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NeverUsedByte_IsRejectedByPeekTypeSkipAndTypedReads()
    {
        byte[] bytes = Bytes("92 01 c1");

        var peek = Fails(bytes, (ref WireReader r) =>
        {
            r.ReadArrayHeader();
            r.ReadInt64();
            r.PeekType();
        });
        Assert.Contains("0xc1 at offset 2", peek.Message, StringComparison.Ordinal);

        var skip = Fails(bytes, (ref WireReader r) => r.Skip());
        Assert.Contains("0xc1 at offset 2", skip.Message, StringComparison.Ordinal);

        var read = Fails("c1", (ref WireReader r) => r.ReadString());
        Assert.Contains("never-used byte 0xc1", read.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a2 c328")] // bad continuation byte
    [InlineData("a2 c080")] // overlong encoding of U+0000
    [InlineData("a3 eda080")] // UTF-16 surrogate encoded as UTF-8
    [InlineData("a1 ff")] // never valid in UTF-8
    [InlineData("a3 e282")] // declared 3 bytes, but the payload is truncated
    [InlineData("a2 e282")] // sequence cut by the declared length
    [InlineData("a4 f4908080")] // above U+10FFFF
    public void InvalidUtf8_IsRejectedByReadString(string hex)
    {
        var reader = new WireReader(Bytes(hex));

        ToscDataException e = AssertFailsAt(ref reader, 0, (ref WireReader r) => r.ReadString());

        Assert.Contains("offset 0", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Contains("not valid UTF-8", StringComparison.Ordinal) || e.Message.Contains("declares", StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public void InvalidUtf8_IsStillAvailableAsRawBytes()
    {
        byte[] raw = ReadWhole(Bytes("a2 c328"), (ref WireReader r) => r.ReadStringSpan().ToArray());

        Assert.Equal(Bytes("c328"), raw);
    }

    [Fact]
    public void AFailedRead_LeavesThePositionWhereItWas()
    {
        var reader = new WireReader(Bytes("01 a2 c328 cf ffffffffffffffff d1 8000 92 c0"));
        reader.ReadInt64();

        AssertFailsAt(ref reader, 1, (ref WireReader r) => r.ReadString());
        AssertFailsAt(ref reader, 1, (ref WireReader r) => r.ReadInt64());
        reader.ReadStringSpan();
        AssertFailsAt(ref reader, 4, (ref WireReader r) => r.ReadInt64());
        AssertFailsAt(ref reader, 4, (ref WireReader r) => r.ReadInt32());
        reader.ReadUInt64();
        AssertFailsAt(ref reader, 13, (ref WireReader r) => r.ReadUInt64());
        reader.ReadInt32();
        AssertFailsAt(ref reader, 16, (ref WireReader r) => r.Skip());
        AssertFailsAt(ref reader, 16, (ref WireReader r) => r.ReadArrayHeader());
    }

    private static ToscDataException AssertFailsAt(ref WireReader reader, int position, ReaderAction action)
    {
        Assert.Equal(position, reader.Position);
        ToscDataException? caught = null;
        try
        {
            action(ref reader);
        }
        catch (ToscDataException e)
        {
            caught = e;
        }

        Assert.NotNull(caught);
        Assert.Equal(position, reader.Position);
        return caught;
    }

    [Fact]
    public void TypeMismatch_NamesExpectedAndFoundTypesAndTheOffset()
    {
        var e = Fails("c0 cd012c", (ref WireReader r) =>
        {
            r.ReadNil();
            r.ReadString();
        });

        Assert.Equal("Expected a string at offset 1 but found an integer (uint 16, 0xcd).", e.Message);
        Assert.Contains("Expected binary data at offset 0 but found a string (fixstr, 0xa1)",
            Fails("a1 61", (ref WireReader r) => r.ReadBinary()).Message, StringComparison.Ordinal);
        Assert.Contains("Expected an array at offset 0 but found a map (fixmap, 0x80)",
            Fails("80", (ref WireReader r) => r.ReadArrayHeader()).Message, StringComparison.Ordinal);
        Assert.Contains("Expected a map at offset 0 but found an array (fixarray, 0x90)",
            Fails("90", (ref WireReader r) => r.ReadMapHeader()).Message, StringComparison.Ordinal);
        Assert.Contains("Expected a boolean at offset 0 but found nil",
            Fails("c0", (ref WireReader r) => r.ReadBoolean()).Message, StringComparison.Ordinal);
        Assert.Contains("Expected nil at offset 0 but found a boolean (false, 0xc2)",
            Fails("c2", (ref WireReader r) => r.ReadNil()).Message, StringComparison.Ordinal);
        Assert.Contains("Expected a float at offset 0 but found a string",
            Fails("a0", (ref WireReader r) => r.ReadDouble()).Message, StringComparison.Ordinal);
        Assert.Contains("Expected an extension at offset 0 but found binary data (bin 8, 0xc4)",
            Fails("c4 00", (ref WireReader r) => r.ReadExtensionHeader()).Message, StringComparison.Ordinal);
        Assert.Contains("Expected an integer at offset 0 but found a float (float 64, 0xcb)",
            Fails("cb 3ff8000000000000", (ref WireReader r) => r.ReadInt64()).Message, StringComparison.Ordinal);
        Assert.Contains("Expected a string at offset 0 but found nil",
            Fails("c0", (ref WireReader r) => r.ReadStringSpan()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IntegersOutOfRange_NameTheValueAndOffset()
    {
        Assert.Equal(
            "The integer 18446744073709551615 at offset 0 does not fit in a 64-bit signed integer (at most 9223372036854775807).",
            Fails("cf ffffffffffffffff", (ref WireReader r) => r.ReadInt64()).Message);
        Assert.Contains("The integer 9223372036854775808 at offset 0",
            Fails("cf 8000000000000000", (ref WireReader r) => r.ReadInt64()).Message, StringComparison.Ordinal);
        Assert.Contains("The integer -1 at offset 0 does not fit in an unsigned 64-bit integer",
            Fails("ff", (ref WireReader r) => r.ReadUInt64()).Message, StringComparison.Ordinal);
        Assert.Contains("The integer -9223372036854775808 at offset 0",
            Fails("d3 8000000000000000", (ref WireReader r) => r.ReadUInt64()).Message, StringComparison.Ordinal);
        Assert.Contains("The integer 2147483648 at offset 0 does not fit in a 32-bit signed integer",
            Fails("ce 80000000", (ref WireReader r) => r.ReadInt32()).Message, StringComparison.Ordinal);
        Assert.Contains("The integer -2147483649 at offset 0",
            Fails("d3 ffffffff7fffffff", (ref WireReader r) => r.ReadInt32()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Skip_OverAMillionNestedArrays_DoesNotOverflowTheStack()
    {
        const int depth = 1_000_000;
        byte[] bytes = new byte[depth + 2];
        bytes.AsSpan(0, depth).Fill(0x91);
        bytes[depth] = 0xc0;
        bytes[depth + 1] = 0x2a;

        var reader = new WireReader(bytes);
        reader.Skip();

        Assert.Equal(depth + 1, reader.Position);
        Assert.Equal(42, reader.ReadInt64());
    }

    [Fact]
    public void Skip_OverAMillionNestedArraysWithoutAnInnermostValue_Throws()
    {
        byte[] bytes = new byte[1_000_000];
        bytes.AsSpan().Fill(0x91);

        var e = Fails(bytes, (ref WireReader r) => r.Skip());

        Assert.Contains("offset", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Skip_OfWideNestedArraysThatCannotFit_ThrowsBeforeReachingTheEnd()
    {
        // Each 0x9f announces 15 values; the pending count soon exceeds the bytes that remain.
        byte[] bytes = new byte[1_000_000];
        bytes.AsSpan().Fill(0x9f);

        var e = Fails(bytes, (ref WireReader r) => r.Skip());

        Assert.Contains("still needs", e.Message, StringComparison.Ordinal);
        Assert.Contains("at offset 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomBytes_EndInAValueOrToscDataException()
    {
        const int seed = 20240611;
        var random = new Random(seed);
        byte[] interesting = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];

        for (int round = 0; round < 20_000; round++)
        {
            byte[] bytes = new byte[random.Next(0, 48)];
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] = random.Next(3) == 0 ? (byte)random.Next(256) : interesting[random.Next(interesting.Length)];
            }

            AssertOnlyDataErrors(bytes, seed, round);
        }
    }

    [Fact]
    public void MutatedDocuments_EndInAValueOrToscDataException()
    {
        const int seed = 77;
        var random = new Random(seed);
        byte[] document = RichDocument();

        for (int round = 0; round < 3_000; round++)
        {
            byte[] bytes = (byte[])document.Clone();
            int flips = random.Next(1, 4);
            for (int i = 0; i < flips; i++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            AssertOnlyDataErrors(bytes, seed, round);
        }
    }

    private static void AssertOnlyDataErrors(byte[] bytes, int seed, int round)
    {
        foreach (bool typed in new[] { false, true })
        {
            try
            {
                var reader = new WireReader(bytes);
                while (!reader.End)
                {
                    int before = reader.Position;
                    if (typed)
                    {
                        ReadAnyWithTypedReads(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }

                    Assert.True(reader.Position > before);
                    Assert.True(reader.Position <= bytes.Length);
                }
            }
            catch (ToscDataException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}, round {round}, typed {typed}, bytes {Hex(bytes)}: {e}");
            }
        }
    }
}
