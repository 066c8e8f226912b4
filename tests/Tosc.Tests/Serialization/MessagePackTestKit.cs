using Tosc.Serialization;
using Xunit;

namespace Tosc.Tests.Serialization;

internal delegate void ReaderAction(ref MessagePackReader reader);

internal delegate T ReaderFunc<out T>(ref MessagePackReader reader);

/// <summary>Helpers shared by the MessagePack tests.</summary>
internal static class MessagePackTestKit
{
    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static byte[] Encode(Action<MessagePackWriter> write)
    {
        var writer = new MessagePackWriter();
        write(writer);
        return writer.ToArray();
    }

    /// <summary>Reads one value from <paramref name="bytes"/> and checks that it used every byte.</summary>
    public static T ReadWhole<T>(byte[] bytes, ReaderFunc<T> read)
    {
        var reader = new MessagePackReader(bytes);
        T value = read(ref reader);
        Assert.True(reader.End, $"The read stopped at offset {reader.Position} of {bytes.Length}.");
        return value;
    }

    /// <summary>Runs <paramref name="action"/> on a reader over <paramref name="bytes"/> and expects a <see cref="ToscDataException"/>.</summary>
    public static ToscDataException Fails(byte[] bytes, ReaderAction action) =>
        Assert.Throws<ToscDataException>(() =>
        {
            var reader = new MessagePackReader(bytes);
            action(ref reader);
        });

    public static ToscDataException Fails(string hex, ReaderAction action) => Fails(Bytes(hex), action);

    /// <summary>Reads one value of any type through the typed reads (not <see cref="MessagePackReader.Skip"/>), iteratively.</summary>
    public static void ReadAnyWithTypedReads(ref MessagePackReader reader)
    {
        long pending = 1;
        while (pending-- > 0)
        {
            switch (reader.PeekType())
            {
                case MessagePackType.Nil: reader.ReadNil(); break;
                case MessagePackType.Boolean: reader.ReadBoolean(); break;
                case MessagePackType.Integer:
                    if (reader.PeekCode() == 0xcf)
                    {
                        reader.ReadUInt64();
                    }
                    else
                    {
                        reader.ReadInt64();
                    }

                    break;
                case MessagePackType.Float: reader.ReadDouble(); break;
                case MessagePackType.String: reader.ReadString(); break;
                case MessagePackType.Binary: reader.ReadBinary(); break;
                case MessagePackType.Array: pending += reader.ReadArrayHeader(); break;
                case MessagePackType.Map: pending += 2L * reader.ReadMapHeader(); break;
                case MessagePackType.Extension: reader.ReadRaw(reader.ReadExtensionHeader().Length); break;
                default: throw new InvalidOperationException("unknown type");
            }
        }
    }

    /// <summary>A map that holds one value of every format family, nested a few levels.</summary>
    public static byte[] RichDocument()
    {
        var w = new MessagePackWriter(0);
        w.WriteMapHeader(9);
        w.Write("nil");
        w.WriteNil();
        w.Write("bools");
        w.WriteArrayHeader(2);
        w.Write(true);
        w.Write(false);
        w.Write("ints");
        w.WriteArrayHeader(10);
        foreach (long v in new long[] { 0, 127, 200, 60000, 4_000_000_000, -5, -100, -30000, -2_000_000_000, long.MinValue })
        {
            w.Write(v);
        }

        w.Write("big");
        w.Write(ulong.MaxValue);
        w.Write("floats");
        w.WriteArrayHeader(2);
        w.Write(1.25f);
        w.Write(-2.5e300);
        w.Write("strings");
        w.WriteArrayHeader(3);
        w.Write("");
        w.Write("héllo 😀");
        w.Write(new string('x', 300));
        w.Write("bin");
        w.WriteBinary(new byte[] { 1, 2, 3 });
        w.Write("ext");
        w.WriteArrayHeader(2);
        w.WriteExtension(7, new byte[] { 9, 9, 9, 9 });
        w.WriteExtension(-1, new byte[] { 1, 2, 3 });
        w.Write("nested");
        w.WriteMapHeader(1);
        w.Write(1);
        w.WriteArrayHeader(1);
        w.WriteArrayHeader(1);
        w.WriteMapHeader(0);
        return w.ToArray();
    }
}
