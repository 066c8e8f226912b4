using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace Tosc.Tests.Files;

/// <summary>
/// The operation log in the store file (format 2): torn appends, damage, compaction leftovers, and the upgrade from
/// format 1. Real files, written and damaged byte by byte.
/// </summary>
public sealed class LogFileTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Theory]
    [InlineData(1)]
    [InlineData(20)]
    [InlineData(33)]
    [InlineData(45)]
    [InlineData(47)]
    public void TornLastFrame_IsIgnoredByReaders_AndCutOffByTheNextAppend(int writtenBytes)
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var version = backend.Write("snapshot"u8.ToArray(), Guid.NewGuid());
        var first = backend.TryAppend("r1"u8.ToArray(), version, Guid.NewGuid())!.Value;
        var second = backend.TryAppend("r2"u8.ToArray(), first.Version, Guid.NewGuid())!.Value;
        var sound = File.ReadAllBytes(path);
        // A crash mid-append: part of the next frame reached the file, and the append was never acknowledged.
        var torn = FileFormatTests.Frame(second.Version + 1, Encoding.UTF8.GetBytes("a record that never committed"))[..writtenBytes];
        File.WriteAllBytes(path, [.. sound, .. torn]);

        using var reader = new FileBackend(path);
        Assert.Equal(second.Version, reader.ReadVersion());
        Assert.Equal(["r1", "r2"], reader.Read()!.Log.Select(r => Text(r.Data)));
        Assert.Equal(["r2"], reader.ReadLog(first.Version).Records.Select(r => Text(r.Data)));
        Assert.Empty(reader.ReadLog(second.Version).Records);

        var third = reader.TryAppend("r3"u8.ToArray(), second.Version, Guid.NewGuid())!.Value;

        Assert.Equal(second.Version + 1, third.Version);
        Assert.Equal(sound.Length + 40 + 2, new FileInfo(path).Length);
        Assert.Equal(["r1", "r2", "r3"], backend.Read()!.Log.Select(r => Text(r.Data)));
        Assert.Equal(3, third.Records);
    }

    [Fact]
    public void ZeroedTail_AsLeftByACrashThatExtendedTheFile_IsIgnoredAndCutOff()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var version = backend.Write("snapshot"u8.ToArray(), Guid.NewGuid());
        version = backend.TryAppend("r1"u8.ToArray(), version, Guid.NewGuid())!.Value.Version;
        var sound = File.ReadAllBytes(path);
        File.WriteAllBytes(path, [.. sound, .. new byte[4096]]);

        Assert.Equal(version, backend.ReadVersion());
        Assert.Equal(["r1"], backend.Read()!.Log.Select(r => Text(r.Data)));
        Assert.NotNull(backend.TryAppend("r2"u8.ToArray(), version, Guid.NewGuid()));
        Assert.Equal(sound.Length + 42, new FileInfo(path).Length);
    }

    [Fact]
    public void LastFrameWithAWrongPayloadChecksum_IsTornForReadersAndTheNextAppend()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var version = backend.Write("snapshot"u8.ToArray(), Guid.NewGuid());
        var first = backend.TryAppend("r1"u8.ToArray(), version, Guid.NewGuid())!.Value;
        backend.TryAppend("r2"u8.ToArray(), first.Version, Guid.NewGuid());
        var bytes = File.ReadAllBytes(path);
        bytes[^9] ^= 0x01; // the last payload byte: the frame's data never fully reached the disk
        File.WriteAllBytes(path, bytes);

        Assert.Equal(["r1"], backend.Read()!.Log.Select(r => Text(r.Data)));
        Assert.Equal(first.Version + 1, backend.TryAppend("again"u8.ToArray(), first.Version, Guid.NewGuid())?.Version);
        Assert.Equal(["r1", "again"], backend.Read()!.Log.Select(r => Text(r.Data)));
    }

    [Theory]
    [InlineData("payload")]
    [InlineData("header")]
    public void DamagedFrame_BeforeASoundOne_IsRefusedNamingThePath_AndNothingIsOverwritten(string where)
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var version = backend.Write("snapshot"u8.ToArray(), Guid.NewGuid());
        var first = backend.TryAppend("r1"u8.ToArray(), version, Guid.NewGuid())!.Value;
        var second = backend.TryAppend("r2"u8.ToArray(), first.Version, Guid.NewGuid())!.Value;
        var bytes = File.ReadAllBytes(path);
        var frame = 48 + "snapshot".Length;
        bytes[where == "payload" ? frame + 32 : frame + 5] ^= 0x10;
        File.WriteAllBytes(path, bytes);

        foreach (var error in new[]
        {
            Assert.Throws<ToscDataException>(() => backend.Read()),
            Assert.Throws<ToscDataException>(() => backend.ReadLog(null)),
            Assert.Throws<ToscDataException>(() => backend.TryWrite("whole"u8.ToArray(), second.Version, Guid.NewGuid())),
            Assert.Throws<ToscDataException>(() => backend.TryCompact("s2"u8.ToArray(), second.Version)),
        })
        {
            Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
            Assert.Contains("is damaged", error.Message, StringComparison.Ordinal);
        }
        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(_directory.Path, "*.tmp"));
    }

    [Fact]
    public void DamagedSnapshot_WithALog_IsRefusedByFullReads()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var version = backend.Write("snapshot"u8.ToArray(), Guid.NewGuid());
        backend.TryAppend("r1"u8.ToArray(), version, Guid.NewGuid());
        var bytes = File.ReadAllBytes(path);
        bytes[50] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<ToscDataException>(() => backend.Read());

        Assert.Contains("checksum does not match", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compaction_LeavesReadersOfTheOldFileAConsistentView()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var version = backend.Write("s0"u8.ToArray(), Guid.NewGuid());
        var first = backend.TryAppend("r1"u8.ToArray(), version, Guid.NewGuid())!.Value;
        var second = backend.TryAppend("r2"u8.ToArray(), first.Version, Guid.NewGuid())!.Value;
        using var old = StoreFile.Open(path, write: false)!;

        Assert.True(backend.TryCompact("s1"u8.ToArray(), first.Version));
        backend.TryAppend("r3"u8.ToArray(), second.Version, Guid.NewGuid());

        var seen = FileFormat.Decode(old.ReadAll(), path)!;
        Assert.Equal("s0", Text(seen.Snapshot.Data));
        Assert.Equal(["r1", "r2"], seen.Records.Select(r => Text(r.Data)));
        Assert.Equal(second.Version, old.FindTail(verifyPayload: true).Version);
        var now = backend.Read()!;
        Assert.Equal("s1", Text(now.Data));
        Assert.Equal(["r2", "r3"], now.Log.Select(r => Text(r.Data)));
    }

    [Fact]
    public void Compaction_InterruptedBeforeItsRename_LeavesTheOldStore_AndItsTemporaryFileIsCleanedUp()
    {
        var path = _directory.File("s.tosc");
        using (var writer = new FileBackend(path))
        {
            var version = writer.Write("s0"u8.ToArray(), Guid.NewGuid());
            writer.TryAppend("r1"u8.ToArray(), version, Guid.NewGuid());
        }
        var before = File.ReadAllBytes(path);
        // What a compaction that crashed mid-write leaves: half a new file under a temporary name, written a while ago.
        var leftover = Path.Combine(_directory.Path, $".s.tosc.00000000.{int.MaxValue}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(leftover, before[..30]);
        File.SetLastWriteTimeUtc(leftover, DateTime.UtcNow.AddMinutes(-5));

        using var backend = new FileBackend(path);

        Assert.False(File.Exists(leftover));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["r1"], backend.Read()!.Log.Select(r => Text(r.Data)));
        Assert.NotNull(backend.TryAppend("r2"u8.ToArray(), backend.ReadVersion()!.Value, Guid.NewGuid()));
    }

    [Fact]
    public void Appends_WithoutFsync_AreStoredTheSame()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path, options: new FileBackendOptions { Fsync = false });
        var version = backend.Write("s"u8.ToArray(), Guid.NewGuid());
        for (var i = 1; i <= 5; i++)
            version = backend.TryAppend(Encoding.UTF8.GetBytes($"r{i}"), version, Guid.NewGuid())!.Value.Version;
        Assert.True(backend.TryCompact("s3"u8.ToArray(), version - 2));

        using var fresh = new FileBackend(path);
        Assert.Equal(["r4", "r5"], fresh.Read()!.Log.Select(r => Text(r.Data)));
    }

    [Fact]
    public void GoldenFormat1Store_IsReadAsASnapshotWithAnEmptyLog()
    {
        var path = CopyGolden();
        using var backend = new FileBackend(path);

        var state = backend.Read()!;

        Assert.Equal(4, backend.ReadVersion());
        Assert.Equal(4, state.Version);
        Assert.Equal(4, state.SnapshotVersion);
        Assert.Empty(state.Log);
        Assert.Empty(backend.ReadLog(4).Records);
        Assert.Null(backend.ReadLog(4).Snapshot);
        Assert.NotNull(backend.ReadLog(3).Snapshot);
        Assert.False(backend.TryCompact("x"u8.ToArray(), 4));
        using var manager = new Manager(backend);
        Assert.Equal(3, manager.Read<SharedCounter>().Value);
    }

    [Fact]
    public void GoldenFormat1Store_IsConvertedToFormat2ByTheFirstAppend_KeepingItsSnapshot()
    {
        var path = CopyGolden();
        var golden = File.ReadAllBytes(path);
        using var backend = new FileBackend(path);
        using (var manager = new Manager(backend))
        {
            var counter = manager.Read<SharedCounter>();
            Assert.Equal(4, manager.Run(() => ++counter.Value));
        }

        var file = File.ReadAllBytes(path);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)));
        Assert.Equal(golden[12..44], file[12..44]); // same snapshot version, commit id and length
        Assert.Equal(golden[48..], file[48..golden.Length]); // the snapshot, byte for byte
        var state = backend.Read()!;
        Assert.Equal(5, state.Version);
        Assert.Single(state.Log);
        using var fresh = new Manager(new FileBackend(path));
        Assert.Equal(4, fresh.Read<SharedCounter>().Value);
        Assert.Empty(Directory.GetFiles(_directory.Path, "*.tmp"));
    }

    [Fact]
    public void AppendToAFormat1Store_AtAStaleVersion_LeavesItUntouched()
    {
        var path = CopyGolden();
        var golden = File.ReadAllBytes(path);
        using var backend = new FileBackend(path);

        Assert.Null(backend.TryAppend("r"u8.ToArray(), 3, Guid.NewGuid()));

        Assert.Equal(golden, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task Reads_WhileAnotherClientAppendsAndCompacts_NeverSeeAPartialFrame()
    {
        var path = _directory.File("s.tosc");
        using var writer = new FileBackend(path, options: new FileBackendOptions { Fsync = false });
        using var reader = new FileBackend(path);
        var start = writer.Write(Fill(0, 10), Guid.NewGuid());
        using var stop = new CancellationTokenSource();
        var head = start;

        var writing = Task.Run(() =>
        {
            var version = start;
            while (!stop.IsCancellationRequested)
            {
                // Sizes across page boundaries, so a reader can catch an append half copied into the page cache.
                var next = version + 1;
                version = writer.TryAppend(Fill(next, (int)(next * 7919 % 20000)), version, Guid.NewGuid())!.Value.Version;
                Volatile.Write(ref head, version);
                if (version % 50 == 0)
                    Assert.True(writer.TryCompact(Fill(version, 10), version - 10));
            }
        });
        var reads = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (reads < 300 || Volatile.Read(ref head) - start < 300)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), $"{reads} reads during {Volatile.Read(ref head) - start} appends in a minute");
                Assert.False(writing.IsFaulted, writing.Exception?.ToString());
                var known = Volatile.Read(ref head);
                var probed = reader.ReadVersion()!.Value;
                Assert.True(probed >= known, $"the probe saw {probed} after {known} was acknowledged");
                var state = reader.Read()!;
                Assert.True(state.Version >= probed);
                var expected = state.SnapshotVersion;
                foreach (var record in state.Log)
                {
                    Assert.Equal(++expected, record.Version);
                    AssertFilled(record.Version, record.Data.Span);
                }
                foreach (var record in reader.ReadLog(probed).Records)
                    AssertFilled(record.Version, record.Data.Span);
                reads++;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await writing;
        }

        static byte[] Fill(long version, int length) => Enumerable.Repeat((byte)version, length).ToArray();

        static void AssertFilled(long version, ReadOnlySpan<byte> data) =>
            Assert.True(data.IndexOfAnyExcept((byte)version) < 0, $"record {version} holds bytes of another record");
    }

    public void Dispose() => _directory.Dispose();

    private string CopyGolden()
    {
        var path = _directory.File("golden.tosc");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Golden", "counter-format1.tosc"), path);
        return path;
    }

    private static string Text(ReadOnlyMemory<byte> data) => Encoding.UTF8.GetString(data.Span);
}
