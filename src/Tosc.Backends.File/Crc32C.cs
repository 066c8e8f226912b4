using System.Buffers.Binary;
using System.Numerics;

namespace Tosc;

/// <summary>CRC-32C (Castagnoli), the checksum of the file format; the BCL computes it in hardware where the CPU can.</summary>
internal static class Crc32C
{
    /// <summary>The checksum of <paramref name="first"/> followed by <paramref name="second"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second = default) =>
        ~Append(Append(uint.MaxValue, first), second);

    private static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= sizeof(ulong))
        {
            // Little-endian so the eight bytes enter the register in file order on every CPU.
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }
        foreach (var b in data)
            crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
