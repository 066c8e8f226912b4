using System.Buffers.Binary;
using K4os.Compression.LZ4;

namespace Tosc.Serialization;

/// <summary>
/// The compressed form of a stored value (format version 2, <see cref="WireFormat.Lz4Flag"/>): the header, the
/// uncompressed length as a big-endian uint32, then one LZ4 block holding the MessagePack value.
/// </summary>
internal static class Lz4Compression
{
    /// <summary>Smaller values are stored as they are: compressing them saves too little to pay for itself.</summary>
    public const int Threshold = 1024;

    private const int LengthSize = 4;

    // An LZ4 block expands its input at most about 255 times: a declared length beyond that is a lie.
    private const int MaxRatio = 255;

    /// <summary>
    /// Compresses an encoded value (header included) into <paramref name="buffer"/>, grown as needed and kept for reuse.
    /// Returns false when the value is below <see cref="Threshold"/> or does not get smaller.
    /// </summary>
    public static bool TryCompress(ReadOnlySpan<byte> encoded, ref byte[]? buffer, out ReadOnlyMemory<byte> compressed)
    {
        compressed = default;
        var value = encoded[WireFormat.HeaderLength..];
        if (value.Length < Threshold)
            return false;
        var size = WireFormat.HeaderLength + LengthSize + LZ4Codec.MaximumOutputSize(value.Length);
        if (buffer is null || buffer.Length < size)
            buffer = GC.AllocateUninitializedArray<byte>(size);
        var target = buffer.AsSpan();
        WireFormat.WriteHeader(target, WireFormat.FormatVersion, WireFormat.Lz4Flag);
        BinaryPrimitives.WriteUInt32BigEndian(target[WireFormat.HeaderLength..], (uint)value.Length);
        var blockStart = WireFormat.HeaderLength + LengthSize;
        var blockLength = LZ4Codec.Encode(value, target[blockStart..]);
        if (blockLength <= 0 || blockStart + blockLength >= encoded.Length)
            return false;
        compressed = buffer.AsMemory(0, blockStart + blockLength);
        return true;
    }

    /// <summary>Decompresses the part after the header; every inconsistency is a <see cref="ToscDataException"/>.</summary>
    public static byte[] Decompress(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < LengthSize)
            throw new ToscDataException($"The compressed value is truncated: {payload.Length} bytes, fewer than its {LengthSize}-byte length.");
        var declared = BinaryPrimitives.ReadUInt32BigEndian(payload);
        var block = payload[LengthSize..];
        if (declared > (ulong)block.Length * MaxRatio + 16 || declared > (uint)Array.MaxLength)
            throw new ToscDataException($"The compressed value declares {declared} bytes, more than its {block.Length}-byte LZ4 block can hold.");
        var value = GC.AllocateUninitializedArray<byte>((int)declared);
        var decoded = LZ4Codec.Decode(block, value);
        if (decoded != value.Length)
            throw new ToscDataException($"The compressed value is corrupt: its LZ4 block decodes to {(decoded < 0 ? "nothing" : decoded + " bytes")}, not the {declared} bytes it declares.");
        return value;
    }
}
