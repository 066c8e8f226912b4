using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>
/// Reads a log record (docs/wire-format.md, "Log records") against a manager's node index. Reading builds the values
/// and checks the record; the returned operations change the live nodes when applied, one each, in order.
/// </summary>
internal static class LogRecordReader
{
    public static List<RecordOp> Read(ReadOnlyMemory<byte> payload, long expectedBase, Guid commitId, Manager owner, Dictionary<long, ILiveNode> index)
    {
        try
        {
            return ReadChecked(payload, expectedBase, commitId, owner, index);
        }
        catch (Exception e) when (e is not ToscDataException and not OutOfMemoryException and not OperationCanceledException)
        {
            throw new ToscDataException($"A log record cannot be decoded: {e.Message}", e);
        }
    }

    private static List<RecordOp> ReadChecked(ReadOnlyMemory<byte> payload, long expectedBase, Guid commitId, Manager owner, Dictionary<long, ILiveNode> index)
    {
        var body = WireFormat.OpenRecord(payload);
        var reader = new WireReader(body);
        if (reader.ReadArrayHeader() != 3)
            throw new ToscDataException("A log record must be an array of three: base version, commit id, operations.");
        var baseVersion = reader.ReadInt64();
        // A record may follow a later version than the one it was made against: a store that checks conflicts puts a
        // record after commits that wrote nothing its transaction read. Never an earlier one.
        if (baseVersion > expectedBase)
            throw new ToscDataException($"A log record was made against version {baseVersion} but follows version {expectedBase} in the store: records are out of order or were tampered with.");
        var id = reader.ReadBinary();
        if (id.Length != 16 || new Guid(id, bigEndian: true) != commitId)
            throw new ToscDataException("A log record's commit id differs from the one the store keeps for it: the record was moved or tampered with.");
        var count = reader.ReadArrayHeader();
        var applications = new List<RecordOp>(Math.Min(count, NodeReading.MaxInitialCapacity));
        for (var i = 0; i < count; i++)
        {
            var start = reader.Position;
            reader.Skip();
            if (ReadOp(body.Slice(start, reader.Position - start), owner, index) is { } application)
                applications.Add(application);
        }
        if (!reader.End)
            throw new ToscDataException($"A log record has {reader.Remaining} bytes after its operations.");
        return applications;
    }

    private static RecordOp ReadLease(ref GraphReader reader)
    {
        var holder = reader.Msg.ReadBinary();
        if (holder.Length != 16)
            throw new ToscDataException("A lease in a log record must name its holder in 16 bytes.");
        var milliseconds = reader.Msg.ReadInt64();
        if (milliseconds is < 0 or > 3_600_000)
            throw new ToscDataException($"A lease in a log record lasts {milliseconds} ms, outside 0 to one hour.");
        if (!reader.Msg.End)
            throw new ToscDataException($"A lease in a log record has {reader.Msg.Remaining} bytes after its arguments.");
        return new RecordOp(0, Conflicts.OpTarget.Whole, static () => { })
        {
            Lease = (new Guid(holder, bigEndian: true), TimeSpan.FromMilliseconds(milliseconds)),
        };
    }

    /// <summary>One operation: <c>[node id, kind, arguments...]</c>, decoded in a context of its own (its nodes are defined in it).</summary>
    private static RecordOp? ReadOp(ReadOnlyMemory<byte> op, Manager owner, Dictionary<long, ILiveNode> index)
    {
        var context = new DecodeContext(owner.Registry, owner, live: true, index) { KeepsExisting = true };
        var reader = new GraphReader(op, context);
        if (reader.Msg.ReadArrayHeader() < 2)
            throw new ToscDataException("A log operation must name its node and its kind.");
        var target = reader.Msg.ReadInt64();
        var kind = (OpKind)reader.Msg.ReadInt32();
        if (target == 0 && kind == OpKind.Lease)
            return ReadLease(ref reader);
        // A node this graph does not hold was not reachable at the record's base version: the operation changes
        // nothing anyone can see (a write to a removed object), so it is skipped.
        if (!index.TryGetValue(target, out var node))
            return null;
        var apply = node.ReadOp(kind, ref reader, out var written);
        if (!reader.Msg.End)
            throw new ToscDataException($"A log operation {kind} has {reader.Msg.Remaining} bytes after its arguments.");
        foreach (var defined in context.Defined)
        {
            if (Nodes.Of(defined) is { } added && ReferenceEquals(added.Header.Owner, owner))
                index[added.Header.Id] = added;
        }
        if (context.Pending.Count == 0)
            return new RecordOp(target, written, apply) { Target = node };
        var swaps = context.Pending.ToArray();
        return new RecordOp(target, written, () =>
        {
            // Nodes the operation wrote in full take the content they had when it was made.
            foreach (var (swapped, content) in swaps)
                swapped.ReplaceContent(content);
            apply();
        }) { Target = node };
    }
}

/// <summary>One decoded operation of a log record: the node it names, the part it writes, and its application.</summary>
internal sealed record RecordOp(long Node, Conflicts.OpTarget Written, Action Apply)
{
    /// <summary>The node the operation changes (null for a lease).</summary>
    public ILiveNode? Target { get; init; }

    /// <summary>For a lease operation: who asked to commit next, and for how long.</summary>
    public (Guid Holder, TimeSpan Duration)? Lease { get; init; }
}
