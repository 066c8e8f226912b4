using System.Buffers.Binary;

namespace Tosc;

/// <summary>
/// The write tokens of the records that checked appends stored (docs/file-backend.md, "Write tokens"), in a file beside
/// the store file: one entry per record, appended under the store's lock after its frame. A record without an entry
/// (its writer crashed between the two, or made a plain append) counts as writing everything, so a lost or torn
/// entry only costs a conflict the core then checks itself; entries are matched by version and commit id, so one left
/// from an earlier life of the store never applies to another record.
/// </summary>
/// <remarks>
/// An entry: tokens length L (u32), version (i64), commit id (16 bytes, <see cref="Guid.TryWriteBytes(Span{byte})"/>
/// order), the tokens (L bytes), CRC-32C of the 28 + L bytes before (u32); all little-endian. Reading stops at the first
/// entry that is torn or fails its checksum.
/// </remarks>
internal sealed class WriteTokensFile(string path)
{
    private const int EntryHead = 28;

    public string Path { get; } = path;

    /// <summary>Every whole entry's tokens, by the version and commit id of its record.</summary>
    public Dictionary<(long Version, Guid CommitId), byte[]> Read()
    {
        var entries = new Dictionary<(long, Guid), byte[]>();
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(Path);
        }
        catch (FileNotFoundException)
        {
            return entries;
        }
        var at = 0;
        while (bytes.Length - at >= EntryHead + sizeof(uint))
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
            if (length > bytes.Length - at - EntryHead - sizeof(uint))
                break;
            var entry = bytes.AsSpan(at, EntryHead + (int)length);
            if (Crc32C.Compute(entry) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + entry.Length)))
                break;
            entries[(BinaryPrimitives.ReadInt64LittleEndian(entry[4..]), new Guid(entry.Slice(12, 16)))] = entry[EntryHead..].ToArray();
            at += entry.Length + sizeof(uint);
        }
        return entries;
    }

    /// <summary>Adds the entry of the record at <paramref name="version"/>; callers hold the store's lock.</summary>
    public void Append(long version, Guid commitId, ReadOnlySpan<byte> tokens)
    {
        using var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        file.Write(Encode(version, commitId, tokens));
    }

    /// <summary>Keeps only the entries of records after <paramref name="version"/> (a compaction); callers hold the store's lock.</summary>
    public void KeepAfter(long version, string temporary)
    {
        var kept = Read().Where(entry => entry.Key.Version > version).OrderBy(entry => entry.Key.Version).ToList();
        if (kept.Count == 0)
        {
            File.Delete(Path);
            return;
        }
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            foreach (var ((v, id), tokens) in kept)
                file.Write(Encode(v, id, tokens));
        }
        File.Move(temporary, Path, overwrite: true);
    }

    private static byte[] Encode(long version, Guid commitId, ReadOnlySpan<byte> tokens)
    {
        var entry = new byte[EntryHead + tokens.Length + sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, (uint)tokens.Length);
        BinaryPrimitives.WriteInt64LittleEndian(entry.AsSpan(4), version);
        commitId.TryWriteBytes(entry.AsSpan(12));
        tokens.CopyTo(entry.AsSpan(EntryHead));
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(EntryHead + tokens.Length), Crc32C.Compute(entry.AsSpan(0, EntryHead + tokens.Length)));
        return entry;
    }
}
