using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

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

    // What this instance has read of the file: the entries, how far, and the first entry's bytes, which tell the file
    // read before from one a compaction rewrote (or one deleted and begun again). Entries are only ever appended
    // between compactions, so a read takes only the bytes added since the last: a contended append no longer parses
    // the whole file (up to CompactAfterRecords entries) under the lock. Callers hold the store's lock.
    private readonly Dictionary<(long Version, Guid CommitId), byte[]> _entries = [];
    private long _readUpTo;
    private byte[]? _firstEntry;

    /// <summary>Every whole entry's tokens, by the version and commit id of its record; callers hold the store's lock.</summary>
    public IReadOnlyDictionary<(long Version, Guid CommitId), byte[]> Read()
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            Forget();
            return _entries;
        }
        using (file)
        {
            var length = RandomAccess.GetLength(file);
            if (!StillTheFileRead(file, length))
                Forget();
            var added = new byte[length - _readUpTo];
            var read = 0;
            while (read < added.Length && RandomAccess.Read(file, added.AsSpan(read), _readUpTo + read) is var n and > 0)
                read += n;
            var at = 0;
            while (read - at >= EntryHead + sizeof(uint))
            {
                var tokens = BinaryPrimitives.ReadUInt32LittleEndian(added.AsSpan(at));
                if (tokens > read - at - EntryHead - sizeof(uint))
                    break;
                var entry = added.AsSpan(at, EntryHead + (int)tokens);
                if (Crc32C.Compute(entry) != BinaryPrimitives.ReadUInt32LittleEndian(added.AsSpan(at + entry.Length)))
                    break; // torn or damaged: nothing after it is read, now or later
                _entries[(BinaryPrimitives.ReadInt64LittleEndian(entry[4..]), new Guid(entry.Slice(12, 16)))] = entry[EntryHead..].ToArray();
                if (_readUpTo == 0 && at == 0)
                    _firstEntry = added.AsSpan(0, entry.Length + sizeof(uint)).ToArray();
                at += entry.Length + sizeof(uint);
            }
            _readUpTo += at;
        }
        return _entries;
    }

    private bool StillTheFileRead(SafeFileHandle file, long length)
    {
        if (_firstEntry is null)
            return _readUpTo == 0;
        if (length < _readUpTo)
            return false;
        var first = new byte[_firstEntry.Length];
        return RandomAccess.Read(file, first, 0) == first.Length && first.AsSpan().SequenceEqual(_firstEntry);
    }

    private void Forget()
    {
        _entries.Clear();
        _readUpTo = 0;
        _firstEntry = null;
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
            Forget();
            return;
        }
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            foreach (var ((v, id), tokens) in kept)
                file.Write(Encode(v, id, tokens));
        }
        File.Move(temporary, Path, overwrite: true);
        Forget();
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
