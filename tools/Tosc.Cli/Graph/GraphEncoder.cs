using System.Buffers;
using System.Buffers.Binary;
using MessagePack;
using Tosc.Changes;
using Tosc.Serialization;

namespace Tosc.Cli.Graph;

/// <summary>
/// Encodes <see cref="GValue"/>s in Tosc's graph format, exactly as the core writes them: smallest integer forms, type
/// names interned per value, a node met again written as a reference. One encoder is one interning context.
/// </summary>
internal sealed class GraphEncoder
{
    private readonly Dictionary<string, int> _typeNames = new(StringComparer.Ordinal);
    private readonly HashSet<GValue> _written = new(ReferenceEqualityComparer.Instance);
    private int _depth;

    /// <summary>A whole stored value: the header (format version 1, no flags) and the root.</summary>
    public static byte[] EncodeValue(GValue root)
    {
        var buffer = new ArrayBufferWriter<byte>();
        return DeepValues.Run(GraphDecoder.MaxDepth, () =>
        {
            buffer.Clear();
            var writer = new MessagePackWriter(buffer);
            WireFormat.WriteHeader(ref writer);
            new GraphEncoder().Write(ref writer, root);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        });
    }

    /// <summary>A log record (docs/wire-format.md, "Log records") of one Set operation.</summary>
    public static byte[] EncodeSetRecord(long baseVersion, Guid commitId, long node, GValue key, GValue value) =>
        DeepValues.Run(GraphDecoder.MaxDepth, () =>
        {
            var op = new ArrayBufferWriter<byte>();
            var writer = new MessagePackWriter(op);
            writer.WriteArrayHeader(4);
            writer.Write(node);
            writer.Write((byte)OpKind.Set);
            var context = new GraphEncoder(); // each operation is self-contained
            context.Write(ref writer, key);
            context.Write(ref writer, value);
            writer.Flush();
            return OpEncoder.Build(new ArrayBufferWriter<byte>(), baseVersion, commitId, 1, op.WrittenSpan).ToArray();
        });

    public void Write(ref MessagePackWriter msg, GValue value)
    {
        if (++_depth > DeepValues.Limit)
            throw DeepValues.TooDeep(stored: false);
        WriteValue(ref msg, value);
        _depth--;
    }

    private void WriteValue(ref MessagePackWriter msg, GValue value)
    {
        if (value.IsNode && !_written.Add(value))
        {
            Span<byte> id = stackalloc byte[8];
            BinaryPrimitives.WriteInt64BigEndian(id, value.Id);
            msg.WriteExtension(WireFormat.Reference, id);
            return;
        }
        switch (value.Kind)
        {
            case GKind.Null:
                msg.WriteNil();
                return;
            case GKind.Bool:
                msg.Write((bool)value.Scalar!);
                return;
            case GKind.Int:
                msg.Write((long)value.Scalar!);
                return;
            case GKind.UInt:
                msg.Write((ulong)value.Scalar!);
                return;
            case GKind.Float32:
                msg.Write((float)value.Scalar!);
                return;
            case GKind.Float64:
                msg.Write((double)value.Scalar!);
                return;
            case GKind.String:
                msg.WriteText((string)value.Scalar!);
                return;
            case GKind.Bin:
                msg.WriteBinary((byte[])value.Scalar!);
                return;
            case GKind.Ext:
                msg.WriteExtension(value.ExtType, (byte[])value.Scalar!);
                return;
            case GKind.Enum:
                msg.WriteArrayHeader(3);
                msg.WriteExtension(WireFormat.EnumValue, [0]);
                WriteTypeName(ref msg, value.TypeName!);
                msg.Write((long)value.Scalar!);
                return;
            case GKind.List or GKind.Set or GKind.Array:
                msg.WriteArrayHeader(1 + value.Items.Count);
                WriteMarker(ref msg, value);
                foreach (var item in value.Items)
                    Write(ref msg, item);
                return;
            case GKind.Dict:
                msg.WriteArrayHeader(2);
                WriteMarker(ref msg, value);
                msg.WriteMapHeader(value.Entries.Count);
                foreach (var (key, item) in value.Entries)
                {
                    Write(ref msg, key);
                    Write(ref msg, item);
                }
                return;
            case GKind.Bytes:
                msg.WriteArrayHeader(2);
                WriteMarker(ref msg, value);
                msg.WriteBinary((byte[])value.Scalar!);
                return;
            case GKind.Counter:
                msg.WriteArrayHeader(2);
                WriteMarker(ref msg, value);
                msg.Write((long)value.Scalar!);
                return;
            case GKind.Object or GKind.ValueObject:
                msg.WriteArrayHeader(3);
                WriteMarker(ref msg, value);
                WriteTypeName(ref msg, value.TypeName!);
                msg.WriteMapHeader(value.Members.Count);
                foreach (var (name, item) in value.Members)
                {
                    msg.WriteText(name);
                    Write(ref msg, item);
                }
                return;
            default:
                throw new InvalidOperationException($"Unknown kind {value.Kind}.");
        }
    }

    private static void WriteMarker(ref MessagePackWriter msg, GValue node)
    {
        var marker = node.Kind switch
        {
            GKind.List => WireFormat.ListNode,
            GKind.Dict => WireFormat.DictNode,
            GKind.Set => WireFormat.SetNode,
            GKind.Bytes => WireFormat.BytesNode,
            GKind.Object => WireFormat.ObjectNode,
            GKind.Counter => WireFormat.CounterNode,
            GKind.ValueObject => WireFormat.ValueObject,
            _ => WireFormat.ArrayValue,
        };
        if (!node.IsNode)
        {
            msg.WriteExtension(marker, [0]);
            return;
        }
        Span<byte> id = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(id, node.Id);
        msg.WriteExtension(marker, id);
    }

    private void WriteTypeName(ref MessagePackWriter msg, string name)
    {
        if (_typeNames.TryGetValue(name, out var index))
        {
            msg.Write(index);
            return;
        }
        _typeNames.Add(name, _typeNames.Count);
        msg.WriteText(name);
    }
}
