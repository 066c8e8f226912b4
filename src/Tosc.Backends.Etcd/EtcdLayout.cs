using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Google.Protobuf;

namespace Tosc;

/// <summary>The store's head: the newest commit. Its key's <c>mod_revision</c> is the store's version.</summary>
/// <param name="CommitId">The commit id of the newest commit (a record's or a whole-state write's).</param>
/// <param name="Seq">The sequence number of the newest log record; 0 after a whole-state write.</param>
/// <param name="Bytes">The size of every record appended since the last whole-state write.</param>
internal readonly record struct EtcdHead(Guid CommitId, long Seq, long Bytes);

/// <summary>The snapshot key's value: where the snapshot is and which record it covers.</summary>
/// <param name="Version">The version the snapshot shows; 0: the key's own <c>mod_revision</c> (a whole-state write).</param>
/// <param name="CommitId">That version's commit id.</param>
/// <param name="Seq">The sequence number of the last record it covers (records after it are the log).</param>
/// <param name="Bytes">The <see cref="EtcdHead.Bytes"/> as of that record.</param>
/// <param name="Length">The snapshot's size.</param>
/// <param name="Chunks">How many chunk keys hold it; 0: it is inline, in <see cref="Inline"/>.</param>
/// <param name="Generation">The chunk keys' generation.</param>
/// <param name="Inline">The snapshot when it is inline.</param>
internal readonly record struct EtcdSnapshot(long Version, Guid CommitId, long Seq, long Bytes, long Length, int Chunks, Guid Generation, ReadOnlyMemory<byte> Inline);

/// <summary>
/// The keys of one store and the encoding of their values (docs/etcd-backend.md). Every key is the store's key, a NUL
/// byte and a name, so no store's key range contains another store's keys (store keys may not contain NUL).
/// </summary>
internal sealed class EtcdLayout
{
    /// <summary>The first byte of every value this layout writes.</summary>
    private const byte Format = 1;

    private const int HeadSize = 1 + 16 + 8 + 8;
    private const int LogHeaderSize = 1 + 16 + 8;
    private const int SnapshotHeaderSize = 1 + 8 + 16 + 8 + 8 + 8 + 4 + 16;

    private readonly byte[] _prefix;

    public EtcdLayout(string key)
    {
        _prefix = [.. Encoding.UTF8.GetBytes(key), 0];
        Head = Key("head");
        Snapshot = Key("snapshot");
        LogStart = Key("log\0");
        LogEnd = Key("log\u0001");
        ChunkStart = Key("chunk\0");
        ChunkEnd = Key("chunk\u0001");
    }

    /// <summary>The head key: its <c>mod_revision</c> is the version every commit compares.</summary>
    public ByteString Head { get; }

    /// <summary>The snapshot key (<see cref="EtcdSnapshot"/>).</summary>
    public ByteString Snapshot { get; }

    /// <summary>The first log key (records are <c>log\0{seq:x16}</c>).</summary>
    public ByteString LogStart { get; }

    /// <summary>The end of the log's key range.</summary>
    public ByteString LogEnd { get; }

    /// <summary>The start of the chunk keys (<c>chunk\0{generation:N}\0{index:x8}</c>).</summary>
    public ByteString ChunkStart { get; }

    /// <summary>The end of the chunk keys' range.</summary>
    public ByteString ChunkEnd { get; }

    /// <summary>The key of the record with sequence number <paramref name="seq"/>.</summary>
    public ByteString Log(long seq) => Key("log\0" + seq.ToString("x16", CultureInfo.InvariantCulture));

    /// <summary>The sequence number in a log key.</summary>
    public long SeqOf(ByteString logKey)
    {
        var hex = logKey.Span[(_prefix.Length + 4)..];
        return long.Parse(Encoding.ASCII.GetString(hex), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    /// <summary>The key of chunk <paramref name="index"/> of a generation.</summary>
    public ByteString Chunk(Guid generation, int index) =>
        Key("chunk\0" + generation.ToString("N") + "\0" + index.ToString("x8", CultureInfo.InvariantCulture));

    /// <summary>The start of a generation's chunk keys.</summary>
    public ByteString GenerationStart(Guid generation) => Key("chunk\0" + generation.ToString("N") + "\0");

    /// <summary>The end of a generation's chunk keys.</summary>
    public ByteString GenerationEnd(Guid generation) => Key("chunk\0" + generation.ToString("N") + "\u0001");

    public static ByteString EncodeHead(EtcdHead head)
    {
        var bytes = new byte[HeadSize];
        bytes[0] = Format;
        head.CommitId.TryWriteBytes(bytes.AsSpan(1));
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(17), head.Seq);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(25), head.Bytes);
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    public static EtcdHead DecodeHead(ByteString value)
    {
        var span = Checked(value, HeadSize, "head");
        return new EtcdHead(new Guid(span.Slice(1, 16)), BinaryPrimitives.ReadInt64LittleEndian(span[17..]), BinaryPrimitives.ReadInt64LittleEndian(span[25..]));
    }

    /// <summary>A log record's value: the commit id, the head's byte count after it, and the record (copied).</summary>
    public static ByteString EncodeRecord(Guid commitId, long bytes, ReadOnlySpan<byte> record)
    {
        var value = new byte[LogHeaderSize + record.Length];
        value[0] = Format;
        commitId.TryWriteBytes(value.AsSpan(1));
        BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(17), bytes);
        record.CopyTo(value.AsSpan(LogHeaderSize));
        return UnsafeByteOperations.UnsafeWrap(value);
    }

    public static (Guid CommitId, long Bytes, ReadOnlyMemory<byte> Record) DecodeRecord(ByteString value)
    {
        var span = Checked(value, LogHeaderSize, "log record");
        return (new Guid(span.Slice(1, 16)), BinaryPrimitives.ReadInt64LittleEndian(span[17..]), value.Memory[LogHeaderSize..]);
    }

    /// <summary>The snapshot key's value, with <paramref name="inline"/> (copied) when the snapshot has no chunks.</summary>
    public static ByteString EncodeSnapshot(EtcdSnapshot snapshot, ReadOnlySpan<byte> inline)
    {
        var value = new byte[SnapshotHeaderSize + inline.Length];
        var span = value.AsSpan();
        span[0] = Format;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], snapshot.Version);
        snapshot.CommitId.TryWriteBytes(span[9..]);
        BinaryPrimitives.WriteInt64LittleEndian(span[25..], snapshot.Seq);
        BinaryPrimitives.WriteInt64LittleEndian(span[33..], snapshot.Bytes);
        BinaryPrimitives.WriteInt64LittleEndian(span[41..], snapshot.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[49..], snapshot.Chunks);
        snapshot.Generation.TryWriteBytes(span[53..]);
        inline.CopyTo(span[SnapshotHeaderSize..]);
        return UnsafeByteOperations.UnsafeWrap(value);
    }

    public static EtcdSnapshot DecodeSnapshot(ByteString value)
    {
        var span = Checked(value, SnapshotHeaderSize, "snapshot");
        var snapshot = new EtcdSnapshot(
            BinaryPrimitives.ReadInt64LittleEndian(span[1..]), new Guid(span.Slice(9, 16)),
            BinaryPrimitives.ReadInt64LittleEndian(span[25..]), BinaryPrimitives.ReadInt64LittleEndian(span[33..]),
            BinaryPrimitives.ReadInt64LittleEndian(span[41..]), BinaryPrimitives.ReadInt32LittleEndian(span[49..]),
            new Guid(span.Slice(53, 16)), value.Memory[SnapshotHeaderSize..]);
        if (snapshot.Chunks < 0 || snapshot.Length < 0 || (snapshot.Chunks == 0 && snapshot.Inline.Length != snapshot.Length))
            throw new ToscDataException("The etcd store's snapshot key is damaged (its chunk count or length does not add up).");
        return snapshot;
    }

    private static ReadOnlySpan<byte> Checked(ByteString value, int size, string what)
    {
        var span = value.Span;
        if (span.Length < size || span[0] != Format)
            throw new ToscDataException($"The etcd store's {what} key does not hold a Tosc value of this layout (format {Format}); it was written by something else or a newer release.");
        return span;
    }

    private ByteString Key(string name)
    {
        var suffix = Encoding.UTF8.GetBytes(name);
        var key = new byte[_prefix.Length + suffix.Length];
        _prefix.CopyTo(key, 0);
        suffix.CopyTo(key, _prefix.Length);
        return UnsafeByteOperations.UnsafeWrap(key);
    }
}
