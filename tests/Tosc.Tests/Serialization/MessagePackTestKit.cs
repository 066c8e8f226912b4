using Tosc.Serialization;
using MessagePackWriter = MessagePack.MessagePackWriter;
using Xunit;

namespace Tosc.Tests.Serialization;

internal delegate void ReaderAction(ref WireReader reader);

internal delegate void WriterAction(ref MessagePackWriter writer);

internal delegate T ReaderFunc<out T>(ref WireReader reader);

/// <summary>Helpers shared by the MessagePack tests.</summary>
internal static class MessagePackTestKit
{
    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Runs <paramref name="write"/> on a MessagePack-CSharp writer, as the codecs use it, and returns the bytes.</summary>
    public static byte[] Encode(WriterAction write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads one value from <paramref name="bytes"/> and checks that it used every byte.</summary>
    public static T ReadWhole<T>(byte[] bytes, ReaderFunc<T> read)
    {
        var reader = new WireReader(bytes);
        T value = read(ref reader);
        Assert.True(reader.End, $"The read stopped at offset {reader.Position} of {bytes.Length}.");
        return value;
    }

    /// <summary>Runs <paramref name="action"/> on a reader over <paramref name="bytes"/> and expects a <see cref="ToscDataException"/>.</summary>
    public static ToscDataException Fails(byte[] bytes, ReaderAction action) =>
        Assert.Throws<ToscDataException>(() =>
        {
            var reader = new WireReader(bytes);
            action(ref reader);
        });

    public static ToscDataException Fails(string hex, ReaderAction action) => Fails(Bytes(hex), action);

    /// <summary>Reads one value of any type through the typed reads (not <see cref="WireReader.Skip"/>), iteratively.</summary>
    public static void ReadAnyWithTypedReads(ref WireReader reader)
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
    public static byte[] RichDocument() => Encode(static (ref MessagePackWriter w) =>
    {
        w.WriteMapHeader(9);
        w.WriteText("nil");
        w.WriteNil();
        w.WriteText("bools");
        w.WriteArrayHeader(2);
        w.Write(true);
        w.Write(false);
        w.WriteText("ints");
        w.WriteArrayHeader(10);
        foreach (long v in new long[] { 0, 127, 200, 60000, 4_000_000_000, -5, -100, -30000, -2_000_000_000, long.MinValue })
        {
            w.Write(v);
        }

        w.WriteText("big");
        w.Write(ulong.MaxValue);
        w.WriteText("floats");
        w.WriteArrayHeader(2);
        w.Write(1.25f);
        w.Write(-2.5e300);
        w.WriteText("strings");
        w.WriteArrayHeader(3);
        w.WriteText("");
        w.WriteText("héllo 😀");
        w.WriteText(new string('x', 300));
        w.WriteText("bin");
        w.WriteBinary([1, 2, 3]);
        w.WriteText("ext");
        w.WriteArrayHeader(2);
        w.WriteExtension(7, [9, 9, 9, 9]);
        w.WriteExtension(-1, [1, 2, 3]);
        w.WriteText("nested");
        w.WriteMapHeader(1);
        w.Write(1);
        w.WriteArrayHeader(1);
        w.WriteArrayHeader(1);
        w.WriteMapHeader(0);
    });
}
