using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;

namespace Tosc;

/// <summary>The etcd calls behind the primitives: requests, chunk staging, and one place that translates failures.</summary>
public sealed partial class EtcdBackend
{
    /// <summary>The chunks a large value was written to before the Txn that makes them current; none for a value that fits inline.</summary>
    private readonly record struct Staged(Guid Generation, int Chunks);

    /// <summary>Writes a value larger than one request as chunk keys of a new generation, one request each.</summary>
    private async ValueTask<Staged> StageAsync(ReadOnlyMemory<byte> data, bool async, CancellationToken cancellationToken)
    {
        var generation = Guid.NewGuid();
        if (data.Length <= _chunkBytes)
            return new Staged(generation, 0);
        var chunks = (data.Length + _chunkBytes - 1) / _chunkBytes;
        var staged = new Staged(generation, chunks);
        try
        {
            for (var i = 0; i < chunks; i++)
            {
                var start = i * _chunkBytes;
                var piece = data.Span.Slice(start, Math.Min(_chunkBytes, data.Length - start));
                var request = new PutRequest { Key = _layout.Chunk(generation, i), Value = ByteString.CopyFrom(piece) };
                await CallAsync(
                    (client, deadline, token) => client.Put(request, null, deadline, token),
                    (client, deadline, token) => client.PutAsync(request, null, deadline, token),
                    "write a snapshot chunk of", async, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await DropAsync(staged, async).ConfigureAwait(false);
            throw;
        }
        return staged;
    }

    /// <summary>
    /// Makes the Txn land only with every staged chunk in place (a concurrent whole-state write or compaction deletes
    /// every generation but its own), and deletes the other generations when it lands.
    /// </summary>
    /// <remarks>
    /// Chunks are put in order and only ever deleted by range deletes, each of which removes every chunk of the
    /// generation present at that moment: any delete that hit this generation removed chunk 0. So comparing chunk 0
    /// (and the last, for good measure) covers them all, and a snapshot of any size stays within etcd's limit of
    /// operations per Txn (<c>--max-txn-ops</c>, 128 by default).
    /// </remarks>
    private void AddStaged(TxnRequest request, Staged staged)
    {
        if (staged.Chunks == 0)
        {
            request.Success.Add(Delete(_layout.ChunkStart, _layout.ChunkEnd));
            return;
        }
        foreach (var i in staged.Chunks == 1 ? [0] : new[] { 0, staged.Chunks - 1 })
        {
            request.Compare.Add(new Compare
            {
                Key = _layout.Chunk(staged.Generation, i),
                Target = Compare.Types.CompareTarget.Version,
                Result = Compare.Types.CompareResult.Greater,
                Version = 0,
            });
        }
        request.Success.Add(Delete(_layout.ChunkStart, _layout.GenerationStart(staged.Generation)));
        request.Success.Add(Delete(_layout.GenerationEnd(staged.Generation), _layout.ChunkEnd));
    }

    /// <summary>Deletes staged chunks that did not become current; best effort (the next whole-state write or compaction deletes leftovers).</summary>
    private async ValueTask DropAsync(Staged staged, bool async)
    {
        if (staged.Chunks == 0)
            return;
        var request = new DeleteRangeRequest { Key = _layout.GenerationStart(staged.Generation), RangeEnd = _layout.GenerationEnd(staged.Generation) };
        try
        {
            await CallAsync(
                (client, deadline, token) => client.Delete(request, null, deadline, token),
                (client, deadline, token) => client.DeleteAsync(request, null, deadline, token),
                "delete staged chunks of", async, CancellationToken.None).ConfigureAwait(false);
        }
        catch (BackendException)
        {
            // Left for the next whole-state write or compaction, which deletes every other generation.
        }
    }

    /// <summary>Reads a chunked snapshot at <paramref name="revision"/>, the revision its snapshot key was read at.</summary>
    private async ValueTask<ReadOnlyMemory<byte>> ReadChunksAsync(EtcdSnapshot snapshot, long revision, bool async, CancellationToken cancellationToken)
    {
        var data = new byte[snapshot.Length];
        var at = 0;
        for (var i = 0; i < snapshot.Chunks; i++)
        {
            // One chunk per request: a chunk is about one request in size, and a reply must fit the client's limit too.
            var request = new RangeRequest { Key = _layout.Chunk(snapshot.Generation, i), Revision = revision };
            var kvs = (await RangeAsync(request, "read", async, cancellationToken).ConfigureAwait(false)).Kvs;
            if (kvs.Count != 1 || kvs[0].Value.Length > data.Length - at)
                throw new ToscDataException($"The etcd store '{Key}' misses chunk {i} of its snapshot (or it is too long): the store was changed by something other than Tosc.");
            kvs[0].Value.Span.CopyTo(data.AsSpan(at));
            at += kvs[0].Value.Length;
        }
        if (at != data.Length)
            throw new ToscDataException($"The etcd store '{Key}' has snapshot chunks of {at} bytes where its snapshot key says {data.Length}.");
        return data;
    }

    private ValueTask<TxnResponse> TxnAsync(TxnRequest request, string action, bool async, CancellationToken cancellationToken) =>
        CallAsync(
            (client, deadline, token) => client.Transaction(request, null, deadline, token),
            (client, deadline, token) => client.TransactionAsync(request, null, deadline, token),
            action, async, cancellationToken);

    private ValueTask<RangeResponse> RangeAsync(RangeRequest request, string action, bool async, CancellationToken cancellationToken) =>
        CallAsync(
            (client, deadline, token) => client.Get(request, null, deadline, token),
            (client, deadline, token) => client.GetAsync(request, null, deadline, token),
            action, async, cancellationToken);

    /// <summary>One etcd call with the operation timeout as its deadline; with <paramref name="async"/> false, synchronously.</summary>
    private async ValueTask<T> CallAsync<T>(
        Func<EtcdClient, DateTime, CancellationToken, T> sync, Func<EtcdClient, DateTime, CancellationToken, Task<T>> asynchronous,
        string action, bool async, CancellationToken cancellationToken)
    {
        try
        {
            var deadline = DateTime.UtcNow + _timeout;
            return async
                ? await asynchronous(_client, deadline, cancellationToken).ConfigureAwait(false)
                : sync(_client, deadline, cancellationToken);
        }
        catch (Exception e) when (EtcdErrors.Translate(e, $"Could not {action} key '{Key}' in {_where}", _where, _maxRequestBytes, IsDisposed, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    private static Compare IsRevision(ByteString key, long revision) => new()
    {
        Key = key,
        Target = Compare.Types.CompareTarget.Mod,
        Result = Compare.Types.CompareResult.Equal,
        ModRevision = revision,
    };

    private static Compare IsAbsent(ByteString key) => new()
    {
        Key = key,
        Target = Compare.Types.CompareTarget.Create,
        Result = Compare.Types.CompareResult.Equal,
        CreateRevision = 0,
    };

    private static RequestOp Put(ByteString key, ByteString value) => new() { RequestPut = new PutRequest { Key = key, Value = value } };

    private static RequestOp Get(ByteString key, bool keysOnly = false) => new() { RequestRange = new RangeRequest { Key = key, KeysOnly = keysOnly } };

    private static RequestOp Delete(ByteString key, ByteString rangeEnd) => new() { RequestDeleteRange = new DeleteRangeRequest { Key = key, RangeEnd = rangeEnd } };

    private static T Completed<T>(ValueTask<T> task) =>
        task.IsCompleted ? task.GetAwaiter().GetResult() : throw new InvalidOperationException("A synchronous etcd call did not complete synchronously.");
}
