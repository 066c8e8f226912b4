using System.Buffers;
using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>
/// Encodes the running transaction's changes as log operations, each at the moment it is made, and builds the log
/// record its commit appends. One per manager; a manager runs one transaction at a time.
/// </summary>
internal sealed class OpEncoder
{
    private readonly EncodeContext _context;
    private readonly ArrayBufferWriter<byte> _ops = new(256);
    private readonly ArrayBufferWriter<byte> _record = new(256);
    private readonly ArrayBufferWriter<byte> _lease = new(32);

    public OpEncoder(Manager owner, TypeRegistry registry, TypeRegistry readable) =>
        _context = new EncodeContext(owner, registry) { Written = [], Readable = readable };

    /// <summary>How many operations are encoded.</summary>
    public int Count { get; private set; }

    /// <summary>The live nodes the operations wrote in full: new to the stored graph, or written again.</summary>
    public IReadOnlyList<ILiveNode> Written => _context.Written!;

    /// <summary>Encodes one change. Each operation is self-contained: its type names and nodes are defined in it.</summary>
    public void Append(Change change)
    {
        var start = _ops.WrittenCount;
        var written = _context.Written!.Count;
        _context.Begin();
        try
        {
            var writer = new GraphWriter(new MessagePackWriter(_ops), _context);
            change.WriteOp(ref writer);
            writer.Msg.Flush();
        }
        catch
        {
            Truncate(start, written);
            throw;
        }
        finally
        {
            _context.End();
        }
        Count++;
    }

    public void Clear() => Truncate(0, 0);

    /// <summary>Where the operations stand now, to go back to (a savepoint).</summary>
    public (int Length, int Count, int Written) Mark() => (_ops.WrittenCount, Count, _context.Written!.Count);

    /// <summary>Drops the operations encoded since <paramref name="mark"/>.</summary>
    public void TruncateTo((int Length, int Count, int Written) mark)
    {
        Truncate(mark.Length, mark.Written);
        Count = mark.Count;
    }

    /// <summary>
    /// The record of the encoded operations: the header (format 2, log record), then
    /// <c>[base version, commit id, [operation...]]</c>. Valid until the next call.
    /// </summary>
    public ReadOnlyMemory<byte> Build(long baseVersion, Guid commitId) => Build(_record, baseVersion, commitId, Count, _ops.WrittenSpan);

    /// <summary>
    /// The record of the encoded operations followed by a lease (<see cref="OpKind.Lease"/>): a commit whose
    /// <paramref name="holder"/> asks to commit next again, for up to <paramref name="duration"/>. Valid until the next call.
    /// </summary>
    public ReadOnlyMemory<byte> Build(long baseVersion, Guid commitId, Guid holder, TimeSpan duration)
    {
        _lease.ResetWrittenCount();
        WriteLease(_lease, holder, duration);
        return Build(_record, baseVersion, commitId, Count + 1, _ops.WrittenSpan, _lease.WrittenSpan);
    }

    /// <summary>A record without operations: what a cancelled commit appends to make sure it can never land later.</summary>
    public static ReadOnlyMemory<byte> Empty(long baseVersion, Guid commitId) => Build(new ArrayBufferWriter<byte>(64), baseVersion, commitId, 0, []);

    /// <summary>A record holding only a lease (<see cref="OpKind.Lease"/>): <paramref name="holder"/> commits next, for up to <paramref name="duration"/>.</summary>
    public static ReadOnlyMemory<byte> Lease(long baseVersion, Guid commitId, Guid holder, TimeSpan duration)
    {
        var op = new ArrayBufferWriter<byte>(32);
        WriteLease(op, holder, duration);
        return Build(new ArrayBufferWriter<byte>(64), baseVersion, commitId, 1, op.WrittenSpan);
    }

    /// <summary>The lease operation: <c>[0, Lease, holder, milliseconds]</c>.</summary>
    private static void WriteLease(ArrayBufferWriter<byte> output, Guid holder, TimeSpan duration)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(4);
        writer.Write(0L);
        writer.Write((byte)OpKind.Lease);
        Span<byte> id = stackalloc byte[16];
        holder.TryWriteBytes(id, bigEndian: true, out _);
        writer.WriteBinary(id);
        writer.Write((long)Math.Ceiling(duration.TotalMilliseconds));
        writer.Flush();
    }

    /// <summary>A record of <paramref name="count"/> encoded operations (also the tosc tool's, which encodes its operation without types).</summary>
    internal static ReadOnlyMemory<byte> Build(ArrayBufferWriter<byte> output, long baseVersion, Guid commitId, int count, ReadOnlySpan<byte> ops, ReadOnlySpan<byte> more = default)
    {
        output.ResetWrittenCount();
        WireFormat.WriteHeader(output.GetSpan(WireFormat.HeaderLength), WireFormat.FormatVersion, WireFormat.LogRecordFlag);
        output.Advance(WireFormat.HeaderLength);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(3);
        writer.Write(baseVersion);
        Span<byte> id = stackalloc byte[16];
        commitId.TryWriteBytes(id, bigEndian: true, out _);
        writer.WriteBinary(id);
        writer.WriteArrayHeader(count);
        writer.Flush();
        ops.CopyTo(output.GetSpan(ops.Length));
        output.Advance(ops.Length);
        more.CopyTo(output.GetSpan(more.Length));
        output.Advance(more.Length);
        return output.WrittenMemory;
    }

    private void Truncate(int length, int written)
    {
        if (length == 0)
        {
            _ops.ResetWrittenCount();
            Count = 0;
        }
        else
        {
            // An operation failed half-way: keep the ones before it.
            var kept = _ops.WrittenSpan[..length].ToArray();
            _ops.ResetWrittenCount();
            kept.CopyTo(_ops.GetSpan(kept.Length));
            _ops.Advance(kept.Length);
        }
        _context.Written!.RemoveRange(written, _context.Written.Count - written);
    }
}
