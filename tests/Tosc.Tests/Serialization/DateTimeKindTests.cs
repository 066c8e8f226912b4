using System.Buffers.Binary;
using Tosc.Serialization;
using Xunit;
using static Tosc.Tests.Serialization.MessagePackTestKit;

namespace Tosc.Tests.Serialization;

/// <summary>
/// Issue 16: a local DateTime is stored as the instant it names, so readers in other time zones see the same moment.
/// These assertions hold in any time zone; the cross-process test in Tosc.Backends.File.Tests runs two real ones.
/// </summary>
public class DateTimeKindTests
{
    private static readonly DateTime Wall = new(2024, 7, 1, 9, 30, 0, 250);

    [Fact]
    public void Write_StoresALocalTimeAsKind3WithItsUtcTicks_AndOtherKindsAsTheyAre()
    {
        var local = DateTime.SpecifyKind(Wall, DateTimeKind.Local);

        Assert.Equal((3, local.ToUniversalTime().Ticks), Encoded(local));
        Assert.Equal((1, Wall.Ticks), Encoded(DateTime.SpecifyKind(Wall, DateTimeKind.Utc)));
        Assert.Equal((0, Wall.Ticks), Encoded(Wall));
    }

    [Fact]
    public void Read_OfEachKindByte_GivesTheValueTheFormatDocuments()
    {
        var utcInstant = DateTime.SpecifyKind(Wall, DateTimeKind.Utc);

        var unspecified = Decoded(0, Wall.Ticks);
        var utc = Decoded(1, Wall.Ticks);
        var legacyLocal = Decoded(2, Wall.Ticks);
        var localInstant = Decoded(3, Wall.Ticks);

        Assert.Equal((DateTimeKind.Unspecified, Wall.Ticks), (unspecified.Kind, unspecified.Ticks));
        Assert.Equal((DateTimeKind.Utc, Wall.Ticks), (utc.Kind, utc.Ticks));
        // Written by earlier releases: the writer's clock reading, kept as it was read then.
        Assert.Equal((DateTimeKind.Local, Wall.Ticks), (legacyLocal.Kind, legacyLocal.Ticks));
        // Written now: the instant, shown on this process's clock.
        Assert.Equal(DateTimeKind.Local, localInstant.Kind);
        Assert.Equal(utcInstant, localInstant.ToUniversalTime());
        Assert.Equal(utcInstant.ToLocalTime(), localInstant);
    }

    [Fact]
    public void Read_OfAnUnknownKindByte_ThrowsNamingTheKind()
    {
        var error = Fails(DateTimeBytes(4, Wall.Ticks), static (ref WireReader reader) => DateTimeCodec.Read(ref reader));

        Assert.Contains("kind 4", error.Message, StringComparison.Ordinal);
    }

    private static (int Kind, long Ticks) Encoded(DateTime value)
    {
        var bytes = new EncodeContext(owner: null).Encode(Codecs.For(typeof(DateTime)), value).ToArray();
        // The 6-byte value header, then ext 8 (c7), length 9, type 17 (0x11), the kind byte and the ticks.
        Assert.Equal("c70911", Hex(bytes.AsSpan(6, 3)));
        return (bytes[9], BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(10)));
    }

    private static DateTime Decoded(byte kind, long ticks) =>
        ReadWhole(DateTimeBytes(kind, ticks), static (ref WireReader reader) => DateTimeCodec.Read(ref reader));

    private static byte[] DateTimeBytes(byte kind, long ticks)
    {
        var bytes = new byte[12];
        bytes[0] = 0xc7;
        bytes[1] = 9;
        bytes[2] = 17;
        bytes[3] = kind;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(4), ticks);
        return bytes;
    }
}
