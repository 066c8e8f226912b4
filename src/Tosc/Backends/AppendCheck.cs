using System.Buffers.Binary;

namespace Tosc;

/// <summary>
/// What a checked append (<see cref="ToscBackend.TryAppendChecked"/>) lets the store decide by itself: the parts of
/// the value the transaction read and the parts its record writes, each as an opaque 8-byte token. When other commits
/// got there first, the store may still append the record after them, in the same atomic step, if none of their
/// records wrote a token among <see cref="Reads"/>: then nothing the transaction saw has changed, and its operations
/// mean on the newer state what they meant on the old one.
/// </summary>
/// <remarks>
/// A store keeps <see cref="Writes"/> with the record, to check later appends against it. A record stored without
/// tokens (by a plain append, a lease, an older release) counts as writing everything. Token equality is all a store
/// needs: how tokens are made is the core's business (docs/backend-contract.md, "Checked appends").
/// </remarks>
public sealed class AppendCheck
{
    /// <summary>The size of one token in bytes.</summary>
    public const int TokenSize = 8;

    /// <summary>Creates a check from packed tokens.</summary>
    /// <param name="reads">The tokens of what the transaction read, <see cref="TokenSize"/> bytes each.</param>
    /// <param name="writes">The tokens of what its record writes, <see cref="TokenSize"/> bytes each.</param>
    /// <exception cref="ArgumentException">A length is not a multiple of <see cref="TokenSize"/>.</exception>
    public AppendCheck(ReadOnlyMemory<byte> reads, ReadOnlyMemory<byte> writes)
    {
        if (reads.Length % TokenSize != 0)
            throw new ArgumentException($"The read tokens take {reads.Length} bytes, not a multiple of {TokenSize}.", nameof(reads));
        if (writes.Length % TokenSize != 0)
            throw new ArgumentException($"The write tokens take {writes.Length} bytes, not a multiple of {TokenSize}.", nameof(writes));
        Reads = reads;
        Writes = writes;
    }

    /// <summary>The tokens of what the transaction read, <see cref="TokenSize"/> bytes each.</summary>
    public ReadOnlyMemory<byte> Reads { get; }

    /// <summary>The tokens of what the record writes, <see cref="TokenSize"/> bytes each: store them with the record.</summary>
    public ReadOnlyMemory<byte> Writes { get; }

    /// <summary>
    /// Whether a record stored with <paramref name="written"/> tokens wrote something the transaction read;
    /// <see langword="null"/> (a record stored without tokens) always does.
    /// </summary>
    public bool Collides(byte[]? written)
    {
        if (written is null)
            return true;
        var reads = Reads.Span;
        var others = written.AsSpan();
        for (var i = 0; i + TokenSize <= others.Length; i += TokenSize)
        {
            var token = BinaryPrimitives.ReadUInt64LittleEndian(others[i..]);
            for (var j = 0; j + TokenSize <= reads.Length; j += TokenSize)
            {
                if (BinaryPrimitives.ReadUInt64LittleEndian(reads[j..]) == token)
                    return true;
            }
        }
        return false;
    }
}
