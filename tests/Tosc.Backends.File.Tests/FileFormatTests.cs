using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace Tosc.Tests.Files;

/// <summary>The on-disk layout is a contract with other languages (docs/file-backend.md): these tests pin it byte by byte.</summary>
public sealed class FileFormatTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public void Crc32C_OfTheStandardCheckString_IsE3069283()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void Crc32C_OfAnySplitAndLength_MatchesABitwiseReference()
    {
        var random = new Random(4242);
        for (var length = 0; length < 100; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            var split = random.Next(length + 1);

            Assert.Equal(ReferenceCrc32C(data), Crc32C.Compute(data.AsSpan(0, split), data.AsSpan(split)));
        }
    }

    [Fact]
    public void StoreFile_HasTheDocumentedLayout()
    {
        var path = _directory.File("layout.tosc");
        using var backend = new FileBackend(path);
        var payload = Encoding.UTF8.GetBytes("{\"theme\":\"dark\"}");
        var commitId = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        backend.Write(Encoding.UTF8.GetBytes("first"), Guid.NewGuid());

        var version = backend.Write(payload, commitId);

        var file = File.ReadAllBytes(path);
        Assert.Equal(48 + payload.Length, file.Length);
        Assert.Equal("TOSCFILE", Encoding.ASCII.GetString(file, 0, 8));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12)));
        Assert.Equal(2, version);
        Assert.Equal(version, BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(16)));
        Assert.Equal(Convert.FromHexString("00112233445566778899AABBCCDDEEFF"), file[24..40]);
        Assert.Equal((uint)payload.Length, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(40)));
        Assert.Equal(ReferenceCrc32C([.. file[..44], .. payload]), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(44)));
        Assert.Equal(payload, file[48..]);
    }

    [Fact]
    public void StoreFile_WrittenByHandFollowingTheDocs_IsRead()
    {
        var path = _directory.File("by-hand.tosc");
        var payload = "hello"u8.ToArray();
        File.WriteAllBytes(path, [.. Header(format: 1, version: 41, payload), .. payload]);

        using var backend = new FileBackend(path);
        var state = backend.Read();

        Assert.Equal(41, state?.Version);
        Assert.Equal(Guid.Parse("01020304-0506-0708-090a-0b0c0d0e0f10"), state?.CommitId);
        Assert.Equal(payload, state!.Data.ToArray());
        Assert.Equal(42, backend.TryWrite("next"u8.ToArray(), 41, Guid.NewGuid()));
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void LogFrame_HasTheDocumentedLayout()
    {
        var path = _directory.File("frame.tosc");
        using var backend = new FileBackend(path);
        var snapshot = "snap"u8.ToArray();
        var version = backend.Write(snapshot, Guid.NewGuid());
        var record = "record"u8.ToArray();
        var commitId = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");

        var appended = backend.TryAppend(record, version, commitId)!.Value;

        var file = File.ReadAllBytes(path);
        var frame = file[(48 + snapshot.Length)..];
        Assert.Equal(40 + record.Length, frame.Length);
        Assert.Equal((uint)record.Length, BinaryPrimitives.ReadUInt32LittleEndian(frame));
        Assert.Equal(version + 1, appended.Version);
        Assert.Equal(appended.Version, BinaryPrimitives.ReadInt64LittleEndian(frame.AsSpan(4)));
        Assert.Equal(Convert.FromHexString("00112233445566778899AABBCCDDEEFF"), frame[12..28]);
        Assert.Equal(ReferenceCrc32C(frame[..28]), BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(28)));
        Assert.Equal(record, frame[32..^8]);
        Assert.Equal(ReferenceCrc32C(record), BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(32 + record.Length)));
        Assert.Equal((uint)record.Length, BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(36 + record.Length)));
        Assert.Equal(1, appended.Records);
        Assert.Equal(frame.Length, appended.Bytes);
        // The header still describes the snapshot: appends never rewrite it.
        Assert.Equal(version, BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(16)));
    }

    [Fact]
    public void Format2File_WrittenByHandFollowingTheDocs_IsRead()
    {
        var path = _directory.File("by-hand-2.tosc");
        var snapshot = "hello"u8.ToArray();
        File.WriteAllBytes(path, [.. Header(format: 2, version: 41, snapshot), .. snapshot, .. Frame(42, "a"u8.ToArray()), .. Frame(43, "bc"u8.ToArray())]);

        using var backend = new FileBackend(path);
        var state = backend.Read()!;

        Assert.Equal(43, backend.ReadVersion());
        Assert.Equal(43, state.Version);
        Assert.Equal(41, state.SnapshotVersion);
        Assert.Equal(snapshot, state.Data.ToArray());
        Assert.Equal(["a", "bc"], state.Log.Select(r => Encoding.UTF8.GetString(r.Data.Span)));
        Assert.Equal(Guid.Parse("00000000-0000-0000-0000-00000000002b"), state.CommitId);
        Assert.Equal(["bc"], backend.ReadLog(42).Records.Select(r => Encoding.UTF8.GetString(r.Data.Span)));
        Assert.Equal(44, backend.TryAppend("d"u8.ToArray(), 43, Guid.NewGuid())?.Version);
    }

    /// <summary>A header built from the documentation alone, with the commit id 01020304-0506-0708-090a-0b0c0d0e0f10.</summary>
    private static byte[] Header(uint format, long version, byte[] snapshot)
    {
        var header = new byte[48];
        "TOSCFILE"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), format);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), version);
        Convert.FromHexString("0102030405060708090A0B0C0D0E0F10").CopyTo(header, 24);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), (uint)snapshot.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(44), ReferenceCrc32C([.. header[..44], .. snapshot]));
        return header;
    }

    /// <summary>A frame built from the documentation alone; its commit id is the version, big-endian, in the last bytes.</summary>
    internal static byte[] Frame(long version, byte[] payload)
    {
        var frame = new byte[40 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(4), version);
        BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(20), version);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(28), ReferenceCrc32C(frame[..28]));
        payload.CopyTo(frame, 32);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(32 + payload.Length), ReferenceCrc32C(payload));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(36 + payload.Length), (uint)payload.Length);
        return frame;
    }

    /// <summary>CRC-32C one bit at a time (reflected polynomial 0x82F63B78), independent of the code under test.</summary>
    internal static uint ReferenceCrc32C(byte[] data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }
}
