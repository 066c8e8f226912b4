using System.Buffers.Binary;
using System.Globalization;

namespace Tosc;

/// <summary>
/// The on-disk layout of a store file (docs/file-backend.md): a 48-byte header, the snapshot payload, then (format 2)
/// the log: one frame per appended record. All integers are little-endian; commit ids are in RFC 9562 (big-endian) byte order.
/// </summary>
/// <remarks>
/// <code>
/// header                          frame (40 + N bytes)
/// offset size field               offset size field
///      0    8 magic "TOSCFILE"         0    4 payload length N
///      8    4 format version (1, 2)    4    8 version (the previous one + 1)
///     12    4 flags (0)               12   16 commit id
///     16    8 snapshot version        28    4 CRC-32C of frame bytes 0..27
///     24   16 snapshot commit id      32    N payload
///     40    4 snapshot length S     32+N    4 CRC-32C of the payload
///     44    4 CRC-32C of bytes      36+N    4 N again, so the newest frame is found from the end
///               0..43 + snapshot
/// </code>
/// Format 1 is the header and the snapshot alone (written by Tosc before the log); format 2 adds the frames.
/// </remarks>
internal static class FileFormat
{
    public const int HeaderSize = 48;
    public const uint SnapshotOnlyFormat = 1;
    public const uint CurrentFormatVersion = 2;
    public const int FrameHeaderSize = 32;
    public const int FrameOverhead = 40;
    private const int ChecksumOffset = 44;
    private const int FrameChecksumOffset = 28;

    public static ReadOnlySpan<byte> Magic => "TOSCFILE"u8;

    /// <summary>The format-2 header for a snapshot; the file is this header, the snapshot, then the frames.</summary>
    public static byte[] EncodeHeader(long version, Guid commitId, ReadOnlySpan<byte> snapshot)
    {
        var header = new byte[HeaderSize];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), CurrentFormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), 0);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), version);
        commitId.TryWriteBytes(header.AsSpan(24, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), (uint)snapshot.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(ChecksumOffset), Crc32C.Compute(header.AsSpan(0, ChecksumOffset), snapshot));
        return header;
    }

    /// <summary>
    /// The header's fields, after checking what the header alone can show (magic, format version, flags, version).
    /// <paramref name="fileLength"/> 0 is an empty store (a file created by <c>touch</c>): <see langword="null"/>.
    /// </summary>
    public static StoreHeader? ReadHeader(ReadOnlySpan<byte> header, long fileLength, string path)
    {
        if (fileLength == 0)
            return null;
        if (fileLength < HeaderSize || header.Length < HeaderSize)
            throw Invalid(path, $"it is {fileLength} bytes long, shorter than the {HeaderSize}-byte header of a Tosc store file");
        if (!header[..Magic.Length].SequenceEqual(Magic))
            throw Invalid(path, "it does not start with the Tosc store magic \"TOSCFILE\"; is this the right path?");
        var format = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (format > CurrentFormatVersion)
            throw new ToscDataException($"The Tosc store file '{path}' has format version {format}, written by a newer Tosc; this one reads format version {CurrentFormatVersion}. Upgrade Tosc in this process.");
        if (format == 0)
            throw Invalid(path, "its format version is 0");
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (flags != 0)
            throw new ToscDataException($"The Tosc store file '{path}' uses flags 0x{flags:X8} that this Tosc does not know (written by a newer Tosc?). Upgrade Tosc in this process.");
        var version = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        if (version <= 0)
            throw Invalid(path, string.Create(CultureInfo.InvariantCulture, $"its data version {version} is not positive"));
        return new StoreHeader(format, version, new Guid(header.Slice(24, 16), bigEndian: true), BinaryPrimitives.ReadUInt32LittleEndian(header[40..]));
    }

    /// <summary>
    /// Decodes a whole file, checking the snapshot's length and checksum and every frame; the payloads are slices of
    /// <paramref name="file"/>. A damaged last frame is a torn append (a crash before it was acknowledged, or one still
    /// being written) and is left out; a damaged frame before a sound last frame is damage and throws.
    /// </summary>
    public static DecodedStore? Decode(byte[] file, string path)
    {
        if (ReadHeader(file, file.Length, path) is not { } header)
            return null;
        var actual = file.Length - HeaderSize;
        if (header.Format == SnapshotOnlyFormat ? header.SnapshotLength != actual : header.SnapshotLength > actual)
            throw Invalid(path, string.Create(CultureInfo.InvariantCulture, $"its header announces {header.SnapshotLength} payload bytes but the file holds {actual} (truncated or appended to)"));
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(ChecksumOffset));
        var computed = Crc32C.Compute(file.AsSpan(0, ChecksumOffset), file.AsSpan(HeaderSize, (int)header.SnapshotLength));
        if (stored != computed)
            throw Invalid(path, $"its checksum does not match (stored 0x{stored:X8}, computed 0x{computed:X8}): the file is damaged");
        var snapshot = new StoredState(header.Version, file.AsMemory(HeaderSize, (int)header.SnapshotLength), header.CommitId);
        var records = new List<LogRecord>();
        var position = header.LogStart;
        var previous = header.Version;
        while (position < file.Length)
        {
            var frame = ReadFrame(file.AsSpan((int)position), previous);
            if (frame is null)
            {
                // Torn, unless a sound frame ends the file: then something in the middle was damaged.
                if (EndsWithSoundFrame(file, position))
                    throw Invalid(path, string.Create(CultureInfo.InvariantCulture, $"the log frame at offset {position} (after version {previous}) is damaged"));
                break;
            }
            var (version, commitId, length) = frame.Value;
            records.Add(new LogRecord(version, commitId, file.AsMemory((int)position + FrameHeaderSize, (int)length)));
            position += FrameOverhead + length;
            previous = version;
        }
        return new DecodedStore(snapshot, records);
    }

    /// <summary>One frame: its header, payload length N, payload, payload CRC and trailer.</summary>
    public static byte[] EncodeFrame(long version, Guid commitId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[FrameOverhead + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(4), version);
        commitId.TryWriteBytes(frame.AsSpan(12, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(FrameChecksumOffset), Crc32C.Compute(frame.AsSpan(0, FrameChecksumOffset)));
        payload.CopyTo(frame.AsSpan(FrameHeaderSize));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(FrameHeaderSize + payload.Length), Crc32C.Compute(payload));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(FrameHeaderSize + payload.Length + 4), (uint)payload.Length);
        return frame;
    }

    /// <summary>
    /// The fields of the frame header at the start of <paramref name="span"/> when its checksum holds and its version
    /// follows <paramref name="previous"/> (any version past it when <paramref name="previous"/> is <see langword="null"/>).
    /// </summary>
    public static (long Version, Guid CommitId, uint Length)? ReadFrameHeader(ReadOnlySpan<byte> span, long? previous)
    {
        if (span.Length < FrameHeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(span[FrameChecksumOffset..]) != Crc32C.Compute(span[..FrameChecksumOffset]))
            return null;
        var version = BinaryPrimitives.ReadInt64LittleEndian(span[4..]);
        if (previous is { } p ? version != p + 1 : version <= 0)
            return null;
        return (version, new Guid(span.Slice(12, 16), bigEndian: true), BinaryPrimitives.ReadUInt32LittleEndian(span));
    }

    /// <summary>The frame at the start of <paramref name="span"/> when it is whole and sound: header, payload checksum and trailer.</summary>
    public static (long Version, Guid CommitId, uint Length)? ReadFrame(ReadOnlySpan<byte> span, long? previous)
    {
        if (ReadFrameHeader(span, previous) is not { } header || span.Length - FrameOverhead < header.Length)
            return null;
        var length = (int)header.Length;
        var payload = span.Slice(FrameHeaderSize, length);
        var tail = span[(FrameHeaderSize + length)..];
        if (BinaryPrimitives.ReadUInt32LittleEndian(tail) != Crc32C.Compute(payload) || BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]) != header.Length)
            return null;
        return header;
    }

    /// <summary>Whether the file ends with a sound frame that starts after <paramref name="from"/>.</summary>
    private static bool EndsWithSoundFrame(byte[] file, long from)
    {
        if (file.Length - from < FrameOverhead)
            return false;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(file.Length - 4));
        var start = file.Length - FrameOverhead - (long)length;
        return start > from && ReadFrame(file.AsSpan((int)start), previous: null) is { } frame && frame.Length == length;
    }

    public static ToscDataException Invalid(string path, string why) =>
        new($"'{path}' is not a valid Tosc store file: {why}. Tosc refuses to read or overwrite it; move it away or point the FileBackend at another path.");
}

/// <summary>A whole store file, decoded and checked: the snapshot and the sound records after it.</summary>
internal sealed record DecodedStore(StoredState Snapshot, List<LogRecord> Records)
{
    /// <summary>The store's version: the newest record's, else the snapshot's.</summary>
    public long Version => Records.Count > 0 ? Records[^1].Version : Snapshot.Version;
}

/// <summary>The fields of a store file's header.</summary>
internal readonly record struct StoreHeader(uint Format, long Version, Guid CommitId, uint SnapshotLength)
{
    /// <summary>Where the log's first frame starts.</summary>
    public long LogStart => FileFormat.HeaderSize + (long)SnapshotLength;
}
