using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Tosc;

/// <summary>
/// An open store file: its header, and the log read from the end, so the version probe and a read of the newest records
/// cost what changed, not the size of the file. Whole-file reads go through <see cref="FileFormat.Decode"/>.
/// </summary>
internal sealed class StoreFile : IDisposable
{
    private readonly SafeFileHandle _handle;

    private StoreFile(SafeFileHandle handle, string path)
    {
        _handle = handle;
        Path = path;
        Length = RandomAccess.GetLength(handle);
        Span<byte> header = stackalloc byte[FileFormat.HeaderSize];
        var filled = Read(header, 0);
        Header = FileFormat.ReadHeader(header[..filled], Length, path);
    }

    public string Path { get; }

    /// <summary>The length when the file was opened; appends by others after that are not looked at.</summary>
    public long Length { get; private set; }

    /// <summary>The header; <see langword="null"/> for an empty file (an empty store).</summary>
    public StoreHeader? Header { get; }

    public SafeFileHandle Handle => _handle;

    /// <summary>Opens the file, or returns <see langword="null"/> when it does not exist.</summary>
    public static StoreFile? Open(string path, bool write)
    {
        SafeFileHandle handle;
        try
        {
            // FileShare.Delete: on Windows a commit may rename over the file while we read it.
            handle = File.OpenHandle(path, FileMode.Open, write ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        try
        {
            return new StoreFile(handle, path);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The newest sound record (or the snapshot) and where the sound part of the file ends. The last frame is found from
    /// the end through its trailer; when it is torn (a crash mid-append, or an append still being written) the frame
    /// headers are walked from the snapshot to find the last whole one.
    /// </summary>
    /// <param name="verifyPayload">Also check the last frame's payload checksum (a writer about to build on it).</param>
    public Tail FindTail(bool verifyPayload)
    {
        var header = Header!.Value;
        if (header.Format == FileFormat.SnapshotOnlyFormat || Length <= header.LogStart)
            return new Tail(header.Version, header.CommitId, Length);
        if (FrameEndingAt(Length, verifyPayload, previous: null) is { } last && last.Version > header.Version)
            return new Tail(last.Version, last.CommitId, Length);
        return ScanForward(verifyPayload);
    }

    /// <summary>
    /// The <paramref name="count"/> records that end at <paramref name="tail"/>, oldest first, each checked whole;
    /// <see langword="null"/> when a frame on the way is not sound (the caller falls back to reading the whole file).
    /// </summary>
    public List<LogRecord>? ReadBack(Tail tail, int count)
    {
        var records = new LogRecord[count];
        var end = tail.End;
        for (var i = count - 1; i >= 0; i--)
        {
            var expected = tail.Version - (count - 1 - i);
            if (ReadFrameEndingAt(end) is not { } frame || frame.Record.Version != expected)
                return null;
            records[i] = frame.Record;
            end = frame.Start;
        }
        return [.. records];
    }

    /// <summary>Reads <paramref name="count"/> bytes at <paramref name="offset"/>; <see langword="null"/> when the file is shorter.</summary>
    public byte[]? ReadBytes(long offset, long count)
    {
        var bytes = new byte[count];
        return Read(bytes, offset) == count ? bytes : null;
    }

    /// <summary>Reads the whole file as it is now.</summary>
    public byte[] ReadAll()
    {
        var length = RandomAccess.GetLength(_handle);
        if (length > Array.MaxLength)
            throw new ToscDataException($"'{Path}' is {length} bytes, too large to be a Tosc store file.");
        var bytes = new byte[length];
        var filled = Read(bytes, 0);
        if (filled < bytes.Length)
            Array.Resize(ref bytes, filled); // shrunk while we read: rewritten in place by something that is not Tosc
        return bytes;
    }

    /// <summary>Cuts a torn tail off (under the lock), so the next frame follows the last sound one.</summary>
    public void Truncate(long length)
    {
        RandomAccess.SetLength(_handle, length);
        Length = length;
    }

    public void Dispose() => _handle.Dispose();

    private (long Version, Guid CommitId)? FrameEndingAt(long end, bool verifyPayload, long? previous)
    {
        if (verifyPayload)
            return ReadFrameEndingAt(end) is { } frame ? (frame.Record.Version, frame.Record.CommitId) : null;
        if (LengthOfFrameEndingAt(end) is not { } length)
            return null;
        Span<byte> bytes = stackalloc byte[FileFormat.FrameHeaderSize];
        if (Read(bytes, end - FileFormat.FrameOverhead - length) < bytes.Length
            || FileFormat.ReadFrameHeader(bytes, previous) is not { } header
            || header.Length != length)
            return null;
        return (header.Version, header.CommitId);
    }

    private (LogRecord Record, long Start)? ReadFrameEndingAt(long end)
    {
        if (LengthOfFrameEndingAt(end) is not { } length)
            return null;
        var start = end - FileFormat.FrameOverhead - length;
        if (ReadBytes(start, FileFormat.FrameOverhead + length) is not { } bytes
            || FileFormat.ReadFrame(bytes, previous: null) is not { } frame
            || frame.Length != length)
            return null;
        return (new LogRecord(frame.Version, frame.CommitId, bytes.AsMemory(FileFormat.FrameHeaderSize, (int)length)), start);
    }

    /// <summary>The payload length the trailer before <paramref name="end"/> announces, when the frame fits after the snapshot.</summary>
    private long? LengthOfFrameEndingAt(long end)
    {
        var logStart = Header!.Value.LogStart;
        if (end - logStart < FileFormat.FrameOverhead)
            return null;
        Span<byte> trailer = stackalloc byte[4];
        if (Read(trailer, end - 4) < 4)
            return null;
        long length = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        return end - FileFormat.FrameOverhead - length >= logStart ? length : null;
    }

    private Tail ScanForward(bool verifyPayload)
    {
        var header = Header!.Value;
        var head = new Tail(header.Version, header.CommitId, header.LogStart);
        var beforeHead = head;
        var position = header.LogStart;
        Span<byte> bytes = stackalloc byte[FileFormat.FrameHeaderSize];
        while (Length - position >= FileFormat.FrameOverhead && Read(bytes, position) == bytes.Length)
        {
            if (FileFormat.ReadFrameHeader(bytes, head.Version) is not { } frame || position + FileFormat.FrameOverhead + frame.Length > Length)
                break;
            beforeHead = head;
            position += FileFormat.FrameOverhead + frame.Length;
            head = new Tail(frame.Version, frame.CommitId, position);
        }
        // The last whole-looking frame may still hold bytes a crash never wrote.
        if (verifyPayload && head.End > header.LogStart && ReadFrameEndingAt(head.End) is null)
            return beforeHead;
        return head;
    }

    private int Read(Span<byte> buffer, long offset)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = RandomAccess.Read(_handle, buffer[filled..], offset + filled);
            if (read == 0)
                break;
            filled += read;
        }
        return filled;
    }

    /// <summary>The newest record in the file (or the snapshot), and where its sound part ends.</summary>
    public readonly record struct Tail(long Version, Guid CommitId, long End);
}
