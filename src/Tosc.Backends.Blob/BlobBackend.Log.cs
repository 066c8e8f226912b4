using System.Globalization;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Tosc;

// The operation log (layout 2): the blob's committed blocks are the snapshot's, then one per record, and its metadata
// names the head version and describes the snapshot. Every change is one Put Block List conditional on the ETag, so
// the version and the log always move together in one atomic step. See docs/blob-backend.md.
public sealed partial class BlobBackend
{
    // A 412 on a commit that found the version unchanged means a compaction moved the ETag: stage again and retry,
    // which is safe because a 412 wrote nothing. Bounded so that a busy compactor cannot keep an append looping.
    private const int MaxAttempts = 8;
    private const int TornReadAttempts = 30;

    private BlockBlobClient? _blockBlob;

    /// <inheritdoc/>
    public override bool SupportsLog => true;

    // The same blob, credentials and pipeline (retries off), for Put Block and Put Block List.
    private BlockBlobClient BlockBlob => _blockBlob ??= _blob.GetParentBlobContainerClient().GetBlockBlobClient(_blob.Name);

    /// <inheritdoc/>
    /// <remarks>A ranged Get Blob from the end of the state last seen, conditional on its ETag: 304 when nothing changed, else only the new records.</remarks>
    protected override async ValueTask<long?> ReadVersionCoreAsync(bool async, CancellationToken cancellationToken) =>
        (await RefreshAsync(async, cancellationToken).ConfigureAwait(false))?.Version;

    /// <inheritdoc/>
    protected override async ValueTask<LogSlice> ReadLogCoreAsync(long? afterVersion, bool async, CancellationToken cancellationToken)
    {
        var state = await RefreshAsync(async, cancellationToken).ConfigureAwait(false);
        if (state is null)
            return new LogSlice(null, [], afterVersion);
        if (afterVersion is { } after && (after == state.Snapshot.Version || state.Records.Any(r => r.Version == after)))
            return new LogSlice(null, [.. state.Records.Where(r => r.Version > after)], afterVersion);
        return new LogSlice(state.Snapshot, state.Records, afterVersion);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Put Block (the framed record) and Put Block List (every block id, the new version in the metadata) conditional
    /// on the ETag of the expected version: two requests whatever the size of the value. The first append to a layout-1
    /// blob also stages its body as snapshot blocks, which converts it.
    /// </remarks>
    protected override async ValueTask<Appended?> AppendCoreAsync(ReadOnlyMemory<byte> record, long expectedVersion, Guid commitId, bool async, CancellationToken cancellationToken)
    {
        var version = expectedVersion + 1;
        var frame = BlobLayout.Frame(version, commitId, record.Span);
        var added = new LogRecord(version, commitId, record.ToArray());
        var state = Volatile.Read(ref _last);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (state is null || state.Version != expectedVersion)
            {
                try
                {
                    state = await RefreshAsync(async, cancellationToken).ConfigureAwait(false);
                }
                catch (BackendException e) when (e.IsTransient)
                {
                    // Nothing of this append has landed (no Put Block List yet, or one refused with 412): answering
                    // "not at the expected version" lets the core read the log with its own retries and rebase or
                    // rerun. Thrown on, the failure would read as a lost reply, in doubt whenever another commit had
                    // landed, though this one certainly did not (seen with Azurite's torn reads under contention).
                    return null;
                }
                if (state is null || state.Version != expectedVersion)
                    return null;
            }
            var based = state.Layout == 2 ? state : await StageSnapshotAsync(state, state.Snapshot, async, cancellationToken).ConfigureAwait(false);
            var recordId = BlobLayout.RecordBlockId(version, commitId);
            await StageAsync(recordId, frame, async, cancellationToken).ConfigureAwait(false);
            var next = based with { Records = [.. based.Records, added] };
            var etag = await CommitAsync(next, state.ETag, async, cancellationToken).ConfigureAwait(false);
            if (etag is { } committed)
            {
                Remember(next with { ETag = committed });
                return new Appended(version, next.Records.Count, next.RecordBytes);
            }
            state = null; // read again: another version is a conflict, the same one a compaction
        }
        return null;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Stages the snapshot's blocks and commits them with the block ids of the records after <paramref name="version"/>,
    /// conditional on the ETag it read: appends that land meanwhile make it start again, so no record is dropped.
    /// </remarks>
    protected override async ValueTask<bool> CompactCoreAsync(ReadOnlyMemory<byte> snapshot, long version, bool async, CancellationToken cancellationToken)
    {
        var bytes = snapshot.ToArray();
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var state = await RefreshAsync(async, cancellationToken).ConfigureAwait(false);
            var upTo = state is null ? -1 : state.Records.ToList().FindIndex(r => r.Version == version);
            if (state is null || upTo < 0 || state.Snapshot.Version >= version)
                return false; // already compacted past it, or replaced by a whole-state write
            var compacted = new StoredState(version, bytes, state.Records[upTo].CommitId);
            var staged = await StageSnapshotAsync(state, compacted, async, cancellationToken).ConfigureAwait(false);
            var next = staged with { Records = [.. state.Records.Skip(upTo + 1)] };
            var etag = await CommitAsync(next, state.ETag, async, cancellationToken).ConfigureAwait(false);
            if (etag is { } committed)
            {
                Remember(next with { ETag = committed });
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Brings the cached state up to date with one request: a Get Blob from where it ends, conditional on its ETag
    /// (304 when nothing changed; the new records when only records were added). A new snapshot costs one more, whole, read.
    /// </summary>
    private async ValueTask<BlobState?> RefreshAsync(bool async, CancellationToken cancellationToken)
    {
        var last = Volatile.Read(ref _last);
        if (last is null)
            return await DownloadAsync(null, async, cancellationToken).ConfigureAwait(false);
        var ranged = new BlobDownloadOptions
        {
            Range = new HttpRange(last.EndOffset),
            Conditions = new BlobRequestConditions { IfNoneMatch = last.ETag },
        };
        var result = await GetAsync(ranged, last, async, cancellationToken).ConfigureAwait(false);
        if (result is not { } response)
            return null;
        if (response.GetRawResponse().Status == 304)
            return last;
        var details = response.Value.Details;
        var (version, _) = Describe(details.Metadata);
        details.Metadata.TryGetValue(BlobLayout.SnapshotKey, out var descriptor);
        if (last.Layout == 2 && Equals(descriptor, last.SnapshotDescriptor)
            && details.ContentRange?.StartsWith($"bytes {last.EndOffset}-", StringComparison.Ordinal) == true
            && BlobLayout.Length(details.Metadata, BlobUri) == last.EndOffset + response.Value.Content.ToMemory().Length)
        {
            // Same snapshot: the bytes before the range are unchanged, so these are the records appended since.
            var added = BlobLayout.Records(response.Value.Content.ToMemory().Span, last.Version, BlobUri);
            var state = last with { ETag = details.ETag, Records = [.. last.Records, .. added] };
            if (state.Version == version)
            {
                Remember(state);
                return state;
            }
        }
        return await DownloadAsync(null, async, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One whole Get Blob, parsed; <see langword="null"/> when nothing is stored.</summary>
    private async ValueTask<BlobState?> DownloadAsync(BlobDownloadOptions? options, bool async, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (await GetAsync(options ?? new BlobDownloadOptions(), null, async, cancellationToken).ConfigureAwait(false) is not { } response)
                return null;
            var result = response.Value;
            if (Parse(result.Details.ETag, result.Details.Metadata, result.Content.ToMemory()) is { } state)
            {
                Remember(state);
                return state;
            }
            // Torn: Azurite can answer with the blocks before a concurrent Put Block List and the metadata (and ETag)
            // after it. Azure never does; a read may always be sent again, and the length check makes it safe to use.
            if (attempt == TornReadAttempts)
                throw new BackendException($"Get Blob on {BlobUri} kept returning a body whose length differs from its {BlobLayout.LengthKey} metadata.", isTransient: true);
            var pause = TimeSpan.FromMilliseconds(Random.Shared.Next(1, 2 + attempt));
            if (async)
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            else
                Thread.Sleep(pause);
        }
    }

    /// <summary>A Get Blob; <see langword="null"/> when nothing is stored. A range past the end (416) is answered by a whole read.</summary>
    private async ValueTask<Response<BlobDownloadResult>?> GetAsync(BlobDownloadOptions options, BlobState? last, bool async, CancellationToken cancellationToken)
    {
        try
        {
            return async
                ? await _blob.DownloadContentAsync(options, cancellationToken).ConfigureAwait(false)
                : _blob.DownloadContent(options, cancellationToken);
        }
        catch (RequestFailedException e) when (IsNothingStored(e))
        {
            Forget();
            return null;
        }
        catch (RequestFailedException e) when (e.Status == 416 && last is not null)
        {
            // The blob is shorter than the state last seen: a new snapshot (compaction or whole-state write).
            return await GetAsync(new BlobDownloadOptions(), null, async, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Failure(e, "Get Blob", cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>The state a Get Blob showed; <see langword="null"/> when its body and metadata do not belong together (a torn read).</summary>
    private BlobState? Parse(ETag etag, IDictionary<string, string> metadata, ReadOnlyMemory<byte> body)
    {
        var (version, commitId) = Describe(metadata);
        if (metadata[MarkerKey] == MarkerValue)
            return new BlobState(etag, 1, new StoredState(version, body, commitId), null, 0, []);
        metadata.TryGetValue(BlobLayout.SnapshotKey, out var text);
        if (BlobLayout.Length(metadata, BlobUri) != body.Length)
            return null;
        var snapshot = BlobLayout.ParseDescriptor(text, BlobUri);
        if (snapshot.Length > body.Length)
            throw new ToscDataException($"The blob {BlobUri} is marked as a Tosc store (layout 2) but is shorter ({body.Length} bytes) than its snapshot ({snapshot.Length}).");
        var records = BlobLayout.Records(body.Span[(int)snapshot.Length..], snapshot.Version, BlobUri);
        var state = new BlobState(etag, 2, new StoredState(snapshot.Version, body[..(int)snapshot.Length], snapshot.CommitId), snapshot.Tag, snapshot.Chunks, records);
        if (state.Version != version)
            throw new ToscDataException($"The blob {BlobUri} is marked as a Tosc store at version {version} but its last record is version {state.Version}.");
        return state;
    }

    /// <summary>Stages <paramref name="snapshot"/> as blocks under a fresh tag: the returned state (still to commit) has it as its snapshot.</summary>
    private async ValueTask<BlobState> StageSnapshotAsync(BlobState state, StoredState snapshot, bool async, CancellationToken cancellationToken)
    {
        var tag = Guid.NewGuid().ToString("N");
        var chunks = BlobLayout.ChunkCount(snapshot.Data.Length);
        for (var i = 0; i < chunks; i++)
        {
            var offset = i * BlobLayout.ChunkSize;
            var chunk = snapshot.Data.Slice(offset, Math.Min(BlobLayout.ChunkSize, snapshot.Data.Length - offset));
            await StageAsync(BlobLayout.SnapshotBlockId(tag, i), chunk, async, cancellationToken).ConfigureAwait(false);
        }
        return state with { Layout = 2, Snapshot = snapshot, SnapshotTag = tag, SnapshotChunks = chunks };
    }

    /// <summary>Put Block: staged blocks change nothing visible until a Put Block List names them.</summary>
    private async ValueTask StageAsync(string blockId, ReadOnlyMemory<byte> data, bool async, CancellationToken cancellationToken)
    {
        var client = BlockBlob;
        try
        {
            using var content = new MemoryStream(data.ToArray(), writable: false);
            if (async)
                await client.StageBlockAsync(blockId, content, options: null, cancellationToken).ConfigureAwait(false);
            else
                client.StageBlock(blockId, content, options: null, cancellationToken);
        }
        catch (Exception e) when (Failure(e, "Put Block", cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Put Block List of <paramref name="next"/>'s blocks and metadata if the blob still has <paramref name="etag"/>; the new ETag, or <see langword="null"/> on 412.</summary>
    private async ValueTask<ETag?> CommitAsync(BlobState next, ETag etag, bool async, CancellationToken cancellationToken)
    {
        var head = next.Whole;
        var options = new CommitBlockListOptions
        {
            Metadata = new Dictionary<string, string>
            {
                [MarkerKey] = LogMarkerValue,
                [VersionKey] = next.Version.ToString(CultureInfo.InvariantCulture),
                [CommitKey] = head.CommitId.ToString("N"),
                [BlobLayout.SnapshotKey] = next.SnapshotDescriptor!,
                [BlobLayout.LengthKey] = next.EndOffset.ToString(CultureInfo.InvariantCulture),
            },
            Conditions = new BlobRequestConditions { IfMatch = etag },
        };
        var client = BlockBlob;
        try
        {
            // Sent once: after a lost reply only reading back the commit id (the core does) tells whether it landed.
            var response = async
                ? await client.CommitBlockListAsync(next.BlockIds, options, cancellationToken).ConfigureAwait(false)
                : client.CommitBlockList(next.BlockIds, options, cancellationToken);
            return response.Value.ETag;
        }
        catch (RequestFailedException e) when (e.Status == 412 || (e.Status == 400 && e.ErrorCode == "InvalidBlockList"))
        {
            // 412: the ETag moved on. InvalidBlockList: a commit in between discarded our staged blocks (it moved the ETag too).
            return null;
        }
        catch (Exception e) when (Failure(e, "Put Block List", cancellationToken) is { } failure)
        {
            throw failure;
        }
    }
}
