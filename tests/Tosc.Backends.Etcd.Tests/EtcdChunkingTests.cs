using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>
/// Snapshots larger than one etcd request, on a member that accepts 64 KiB requests: written in chunks, made current by
/// one Txn, read at one revision, and the old chunks deleted.
/// </summary>
public sealed class EtcdChunkingTests(EtcdSmallRequestsFixture fixture) : IClassFixture<EtcdSmallRequestsFixture>
{
    private static readonly EtcdBackendOptions Small = new() { MaxRequestBytes = EtcdSmallRequestsFixture.MaxRequestBytes };

    private static string Me([System.Runtime.CompilerServices.CallerMemberName] string test = "") => $"{test}-{Guid.NewGuid():N}";

    [Fact]
    public async Task ChunkedSnapshots_WrittenWhileOthersRead_AreNeverSeenHalfOldHalfNew()
    {
        var key = Me();
        const int size = 300_000, writes = 12;
        using var writer = new EtcdBackend(fixture.Server.Endpoint, key, Small);
        var version = writer.TryWrite(Uniform(0, size), null, Guid.NewGuid())!.Value;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var reads = 0;
        using var stop = new CancellationTokenSource();

        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            using var reader = new EtcdBackend(fixture.Server.Endpoint, key, Small);
            while (!stop.IsCancellationRequested)
            {
                var data = reader.Read()!.Data.Span;
                if (data.Length != size || data.IndexOfAnyExcept(data[0]) >= 0)
                    failures.Enqueue($"a read of {data.Length} bytes mixed values {data[0]} and {data[data.IndexOfAnyExcept(data[0])]}");
                Interlocked.Increment(ref reads);
            }
        })).ToArray();
        for (var i = 1; i <= writes; i++)
        {
            var reached = Volatile.Read(ref reads);
            await Eventually.TrueAsync(() => Volatile.Read(ref reads) > reached || readers.Any(r => r.IsCompleted), "a read between two writes");
            version = writer.TryWrite(Uniform((byte)i, size), version, Guid.NewGuid()) ?? throw new InvalidOperationException("a write conflicted");
        }
        stop.Cancel();
        await Task.WhenAll(readers);

        Assert.Empty(failures);
        Assert.Equal(Uniform(writes, size), writer.Read()!.Data.ToArray());
        Assert.Equal((size + 48 * 1024 - 1) / (48 * 1024), EtcdKeys.Chunks(fixture.Server, key)); // the current generation's chunks only
    }

    [Fact]
    public void Compaction_WithAChunkedSnapshot_ReplacesTheOldChunks()
    {
        var key = Me();
        using var writer = new EtcdBackend(fixture.Server.Endpoint, key, Small);
        using var reader = new EtcdBackend(fixture.Server.Endpoint, key, Small);
        var version = writer.TryWrite(Uniform(1, 200_000), null, Guid.NewGuid())!.Value;
        var first = writer.TryAppend(new byte[] { 7 }, version, Guid.NewGuid())!.Value;
        var second = writer.TryAppend(new byte[] { 8 }, first.Version, Guid.NewGuid())!.Value;

        Assert.True(writer.TryCompact(Uniform(2, 150_000), first.Version));

        var log = reader.ReadLog(null);
        Assert.Equal(first.Version, log.Snapshot!.Version);
        Assert.Equal(Uniform(2, 150_000), log.Snapshot.Data.ToArray());
        Assert.Equal([second.Version], log.Records.Select(r => r.Version));
        Assert.Equal(second.Version, reader.ReadVersion());
        Assert.Equal(4, EtcdKeys.Chunks(fixture.Server, key)); // 150,000 bytes in 48 KiB chunks; the 200,000-byte generation is gone
    }

    [Fact]
    public void ASnapshotOfMoreChunksThanATxnMayHaveOperations_RoundTrips()
    {
        var key = Me();
        using var writer = new EtcdBackend(fixture.Server.Endpoint, key, Small);
        var payload = new byte[140 * 48 * 1024]; // 140 chunks: more than etcd's --max-txn-ops (128)
        new Random(128).NextBytes(payload);

        var version = writer.TryWrite(payload, null, Guid.NewGuid());

        using var reader = new EtcdBackend(fixture.Server.Endpoint, key, Small);
        var state = reader.Read()!;
        Assert.Equal(version, state.Version);
        Assert.True(payload.AsSpan().SequenceEqual(state.Data.Span), "the 140-chunk snapshot came back different");
        Assert.Equal(140, EtcdKeys.Chunks(fixture.Server, key));
    }

    [Fact]
    public void ALogRecordLargerThanARequest_IsRefusedClearly_AndChangesNothing()
    {
        var key = Me();
        using var backend = new EtcdBackend(fixture.Server.Endpoint, key, Small);
        var version = backend.TryWrite(new byte[] { 1 }, null, Guid.NewGuid())!.Value;

        var e = Assert.Throws<BackendException>(() => backend.TryAppend(new byte[100_000], version, Guid.NewGuid()));

        Assert.False(e.IsTransient);
        Assert.Contains("MaxRequestBytes", e.Message, StringComparison.Ordinal);
        Assert.Equal(version, backend.ReadVersion());
    }

    [Fact]
    public void AMaxRequestBytesLargerThanTheServers_IsAClearPermanentError()
    {
        using var backend = new EtcdBackend(fixture.Server.Endpoint, Me(), new EtcdBackendOptions { MaxRequestBytes = 1 << 20 });

        var e = Assert.Throws<BackendException>(() => backend.Write(new byte[500_000], Guid.NewGuid()));

        Assert.False(e.IsTransient);
        Assert.Contains("--max-request-bytes", e.Message, StringComparison.Ordinal);
    }

    private static byte[] Uniform(byte value, int size)
    {
        var data = new byte[size];
        data.AsSpan().Fill(value);
        return data;
    }
}
