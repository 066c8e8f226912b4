using System.Buffers.Binary;
using System.Globalization;

namespace Tosc;

/// <summary>
/// The on-disk layout of a store file (docs/file-backend.md): a 48-byte header, then the payload.
/// All integers are little-endian; the commit id is in RFC 9562 (big-endian) byte order.
/// </summary>
/// <remarks>
/// <code>
/// offset size field
///      0    8 magic "TOSCFILE"
///      8    4 format version (1)
///     12    4 flags (0; a reader rejects flags it does not know)
///     16    8 data version (positive)
///     24   16 commit id
///     40    4 payload length
///     44    4 CRC-32C of bytes 0..43 followed by the payload
/// </code>
/// </remarks>
internal static class FileFormat
{
    public const int HeaderSize = 48;
    public const uint CurrentFormatVersion = 1;
    private const int ChecksumOffset = 44;

    public static ReadOnlySpan<byte> Magic => "TOSCFILE"u8;

    /// <summary>The header for <paramref name="payload"/>; the file is this header followed by the payload.</summary>
    public static byte[] EncodeHeader(long version, Guid commitId, ReadOnlySpan<byte> payload)
    {
        var header = new byte[HeaderSize];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), CurrentFormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), 0);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), version);
        commitId.TryWriteBytes(header.AsSpan(24, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(ChecksumOffset), Crc32C.Compute(header.AsSpan(0, ChecksumOffset), payload));
        return header;
    }

    /// <summary>
    /// The data version in a header, after checking what the header alone can show (magic, format version, flags).
    /// <paramref name="fileLength"/> 0 is an empty store (a file created by <c>touch</c>): <see langword="null"/>.
    /// </summary>
    public static long? ReadVersion(ReadOnlySpan<byte> header, long fileLength, string path)
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
        return version;
    }

    /// <summary>Decodes a whole file, checking its length and checksum; the payload is a slice of <paramref name="file"/>.</summary>
    public static StoredState? Decode(byte[] file, string path)
    {
        var version = ReadVersion(file, file.Length, path);
        if (version is null)
            return null;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(40));
        var actual = file.Length - HeaderSize;
        if (length != actual)
            throw Invalid(path, string.Create(CultureInfo.InvariantCulture, $"its header announces {length} payload bytes but the file holds {actual} (truncated or appended to)"));
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(ChecksumOffset));
        var computed = Crc32C.Compute(file.AsSpan(0, ChecksumOffset), file.AsSpan(HeaderSize));
        if (stored != computed)
            throw Invalid(path, $"its checksum does not match (stored 0x{stored:X8}, computed 0x{computed:X8}): the file is damaged");
        var commitId = new Guid(file.AsSpan(24, 16), bigEndian: true);
        return new StoredState(version.Value, file.AsMemory(HeaderSize), commitId);
    }

    private static ToscDataException Invalid(string path, string why) =>
        new($"'{path}' is not a valid Tosc store file: {why}. Tosc refuses to read or overwrite it; move it away or point the FileBackend at another path.");
}
