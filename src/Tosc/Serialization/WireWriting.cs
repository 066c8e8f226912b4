using System.Globalization;
using System.Text;
using MessagePack;

namespace Tosc.Serialization;

/// <summary>What Tosc adds to MessagePack-CSharp's <see cref="MessagePackWriter"/>: strict UTF-8 and whole extension values.</summary>
internal static class WireWriting
{
    /// <summary>
    /// Writes nil for <see langword="null"/>, else the string as UTF-8. Unlike <see cref="MessagePackWriter.Write(string)"/>,
    /// which replaces an unpaired surrogate silently, such a string throws <see cref="ToscDataException"/>.
    /// </summary>
    public static void WriteText(this ref MessagePackWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        int byteCount;
        try
        {
            byteCount = MessagePackCode.StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException e)
        {
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"A string cannot be encoded as UTF-8: it holds the unpaired surrogate U+{(int)e.CharUnknown:X4} at index {e.Index} of its {value.Length} chars."), e);
        }

        writer.WriteStringHeader(byteCount);
        if (byteCount > 0)
        {
            MessagePackCode.StrictUtf8.GetBytes(value, writer.GetSpan(byteCount));
            writer.Advance(byteCount);
        }
    }

    /// <summary>Writes a bin 8 / 16 / 32 (never nil).</summary>
    public static void WriteBinary(this ref MessagePackWriter writer, scoped ReadOnlySpan<byte> bytes)
    {
        writer.WriteBinHeader(bytes.Length);
        writer.WriteBytes(bytes);
    }

    /// <summary>Writes a whole extension value: fixext when the data has a fixext size, else the smallest ext.</summary>
    public static void WriteExtension(this ref MessagePackWriter writer, sbyte typeCode, scoped ReadOnlySpan<byte> data)
    {
        writer.WriteExtensionFormatHeader(new ExtensionHeader(typeCode, data.Length));
        writer.WriteBytes(data);
    }

    /// <summary>
    /// Appends bytes as they are. <see cref="MessagePackWriter.WriteRaw(ReadOnlySpan{byte})"/> does the same, but its span
    /// parameter is not scoped, so it refuses the stack-allocated spans the codecs use.
    /// </summary>
    public static void WriteBytes(this ref MessagePackWriter writer, scoped ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
            return;
        bytes.CopyTo(writer.GetSpan(bytes.Length));
        writer.Advance(bytes.Length);
    }
}
