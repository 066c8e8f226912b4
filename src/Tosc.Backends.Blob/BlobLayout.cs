using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Azure;

namespace Tosc;

/// <summary>
/// What one Get Blob showed: the snapshot, the log records after it, and where in the blob they end. Layout 1 (the
/// first release's) is a body that is all snapshot; layout 2 is the snapshot's blocks followed by one block per record.
/// See docs/blob-backend.md, "Layout in the blob".
/// </summary>
internal sealed record BlobState(ETag ETag, int Layout, StoredState Snapshot, string? SnapshotTag, int SnapshotChunks, IReadOnlyList<LogRecord> Records)
{
    public long Version => Records.Count > 0 ? Records[^1].Version : Snapshot.Version;

    /// <summary>The blob's length: a ranged read from here returns only what was appended since.</summary>
    public long EndOffset => Snapshot.Data.Length + Records.Sum(r => (long)BlobLayout.FrameHeader + r.Data.Length);

    public long RecordBytes => Records.Sum(r => (long)r.Data.Length);

    public StoredState Whole => StoredState.FromLog(new LogSlice(Snapshot, Records, null))!;

    /// <summary>The committed block list, in order (layout 2 only).</summary>
    public IEnumerable<string> BlockIds =>
        Enumerable.Range(0, SnapshotChunks).Select(i => BlobLayout.SnapshotBlockId(SnapshotTag!, i))
            .Concat(Records.Select(r => BlobLayout.RecordBlockId(r.Version, r.CommitId)));

    /// <summary>The snapshot's description, as stored in the <c>toscsnapshot</c> metadata.</summary>
    public string? SnapshotDescriptor => Layout == 2 ? BlobLayout.Describe(Snapshot, SnapshotTag!, SnapshotChunks) : null;
}

/// <summary>The record framing, block ids and metadata of layout 2.</summary>
internal static class BlobLayout
{
    /// <summary>Each record block: data length (int32), version (int64), commit id (16 bytes), little-endian; then the data.</summary>
    public const int FrameHeader = 4 + 8 + 16;

    /// <summary>Snapshots are staged in blocks of this size (any Put Block accepts it, Azurite's included).</summary>
    public const int ChunkSize = 4 * 1024 * 1024;

    public const string SnapshotKey = "toscsnapshot";

    /// <summary>The blob's length in bytes: a read whose body has another length is torn (see <c>BlobBackend.DownloadAsync</c>).</summary>
    public const string LengthKey = "tosclength";

    public static long Length(IDictionary<string, string> metadata, Uri blob) =>
        metadata.TryGetValue(LengthKey, out var text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            ? length
            : throw Corrupt(blob, $"its {LengthKey} metadata ('{text}') is not a length");

    public static byte[] Frame(long version, Guid commitId, ReadOnlySpan<byte> data)
    {
        var frame = new byte[FrameHeader + data.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, data.Length);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(4), version);
        commitId.TryWriteBytes(frame.AsSpan(12));
        data.CopyTo(frame.AsSpan(FrameHeader));
        return frame;
    }

    /// <summary>Parses the record frames in <paramref name="bytes"/>, which follow version <paramref name="after"/>.</summary>
    public static List<LogRecord> Records(ReadOnlySpan<byte> bytes, long after, Uri blob)
    {
        var records = new List<LogRecord>();
        while (bytes.Length > 0)
        {
            if (bytes.Length < FrameHeader)
                throw Corrupt(blob, $"a record frame is cut short ({bytes.Length} bytes left)");
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes);
            var version = BinaryPrimitives.ReadInt64LittleEndian(bytes[4..]);
            if (length < 0 || length > bytes.Length - FrameHeader)
                throw Corrupt(blob, $"the record for version {version} claims {length} bytes");
            if (version <= after)
                throw Corrupt(blob, $"record version {version} does not follow {after}");
            records.Add(new LogRecord(version, new Guid(bytes.Slice(12, 16)), bytes.Slice(FrameHeader, length).ToArray()));
            after = version;
            bytes = bytes[(FrameHeader + length)..];
        }
        return records;
    }

    // Every block id of a blob must have the same length: 48 characters before Base64. A record's names its version
    // and commit id, so two writers racing for one version stage different blocks; a snapshot's names a fresh tag.
    public static string SnapshotBlockId(string tag, int index) => Id($"s{tag}{index:x15}");

    public static string RecordBlockId(long version, Guid commitId) => Id($"r{version:x15}{commitId:N}");

    public static string Describe(StoredState snapshot, string tag, int chunks) =>
        string.Create(CultureInfo.InvariantCulture, $"{snapshot.Version}.{snapshot.CommitId:N}.{snapshot.Data.Length}.{tag}.{chunks}");

    /// <summary>Parses a <c>toscsnapshot</c> value: the snapshot's version, commit id, length, block tag and block count.</summary>
    public static (long Version, Guid CommitId, long Length, string Tag, int Chunks) ParseDescriptor(string? text, Uri blob)
    {
        var parts = text?.Split('.') ?? [];
        if (parts.Length == 5
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            && Guid.TryParseExact(parts[1], "N", out var commitId)
            && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            && parts[3].Length == 32
            && int.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var chunks))
            return (version, commitId, length, parts[3], chunks);
        throw Corrupt(blob, $"its {SnapshotKey} metadata ('{text}') is not version.commit.length.tag.blocks");
    }

    public static int ChunkCount(int length) => (length + ChunkSize - 1) / ChunkSize;

    private static string Id(string text) => Convert.ToBase64String(Encoding.ASCII.GetBytes(text));

    private static ToscDataException Corrupt(Uri blob, string what) =>
        new($"The blob {blob} is marked as a Tosc store (layout 2) but {what}; it was not written by Tosc or is damaged.");
}
