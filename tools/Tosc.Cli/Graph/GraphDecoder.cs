using System.Buffers.Binary;
using System.Globalization;
using Tosc.Serialization;

namespace Tosc.Cli.Graph;

/// <summary>
/// Decodes MessagePack in Tosc's graph format (docs/wire-format.md) into <see cref="GValue"/>s without resolving any
/// type: a stored type name stays a string, so nothing of the application is ever loaded or constructed. One decoder
/// is one interning context (type names, node definitions): a whole value, or one operation of a log record.
/// </summary>
internal sealed class GraphDecoder
{
    /// <summary>
    /// The nesting the tool follows: the core's default <see cref="ManagerOptions.MaxDepth"/>. Up to the core's
    /// per-thread limit values are decoded where they are called; deeper ones again on a thread with a stack sized for
    /// this cap (the core's <see cref="DeepValues"/>), so deep chains read as the core reads them.
    /// </summary>
    public static readonly int MaxDepth = new ManagerOptions().MaxDepth;

    private readonly List<string> _typeNames = [];
    private readonly Dictionary<long, GValue> _defined = [];
    private readonly IDictionary<long, GValue>? _existing;
    private int _depth;

    /// <param name="existing">The nodes of the graph a log operation applies to: a value naming one updates it in place.</param>
    public GraphDecoder(IDictionary<long, GValue>? existing = null) => _existing = existing;

    /// <summary>The nodes this context defined (with ids), for the caller's index.</summary>
    public IReadOnlyDictionary<long, GValue> Defined => _defined;

    /// <summary>The bytes of a stored value after its 6-byte header, decompressed when the header says so.</summary>
    public static ReadOnlyMemory<byte> OpenValue(ReadOnlyMemory<byte> stored) => WireFormat.OpenValue(stored);

    /// <summary>Decodes a whole stored value (after its header, decompressed).</summary>
    public static GValue DecodeValue(ReadOnlyMemory<byte> body) => DeepValues.Run(MaxDepth, () =>
    {
        var reader = new WireReader(body);
        var value = new GraphDecoder().Read(ref reader);
        if (!reader.End)
            throw new ToscDataException($"The stored value has {reader.Remaining} bytes after its end (offset {reader.Position}).");
        return value;
    });

    public GValue Read(ref WireReader msg)
    {
        var offset = msg.Position;
        switch (msg.PeekType())
        {
            case MessagePackType.Nil:
                msg.ReadNil();
                return GValue.Null;
            case MessagePackType.Boolean:
                return GValue.Of(GKind.Bool, msg.ReadBoolean());
            case MessagePackType.Integer:
                return msg.PeekCode() == MessagePackCode.UInt64Code ? ReadUnsigned(ref msg) : GValue.Of(GKind.Int, msg.ReadInt64());
            case MessagePackType.Float:
                return msg.PeekCode() == MessagePackCode.Float32
                    ? GValue.Of(GKind.Float32, msg.ReadSingle())
                    : GValue.Of(GKind.Float64, msg.ReadDouble());
            case MessagePackType.String:
                return GValue.Of(GKind.String, msg.ReadString());
            case MessagePackType.Binary:
                return GValue.Of(GKind.Bin, msg.ReadBinary().ToArray());
            case MessagePackType.Extension:
                return ReadExtension(ref msg, offset);
            case MessagePackType.Array:
                if (++_depth > DeepValues.Limit)
                    throw DeepValues.TooDeep(stored: true, offset);
                var node = ReadNode(ref msg, offset);
                _depth--;
                return node;
            default:
                throw new ToscDataException($"A {msg.PeekType()} cannot stand where a value is expected (offset {offset}).");
        }
    }

    private static GValue ReadUnsigned(ref WireReader msg)
    {
        var value = msg.ReadUInt64();
        return value <= long.MaxValue ? GValue.Of(GKind.Int, (long)value) : GValue.Of(GKind.UInt, value);
    }

    private GValue ReadExtension(ref WireReader msg, int offset)
    {
        var (type, length) = msg.ReadExtensionHeader();
        var payload = msg.ReadRaw(length);
        if (type == WireFormat.Reference)
        {
            var id = ReadId(payload, offset);
            return _defined.TryGetValue(id, out var target)
                ? target
                : throw new ToscDataException(string.Create(CultureInfo.InvariantCulture, $"A reference names node {id:x16}, which is not defined before it (offset {offset})."));
        }
        var expected = GraphJson.ExtLength(type);
        if (expected < 0)
            throw new ToscDataException($"Unknown extension type {type} (offset {offset}).");
        if (payload.Length != expected)
            throw new ToscDataException($"A {GraphJson.ExtName(type)} must have {expected} bytes of data, not {payload.Length} (offset {offset}).");
        return GValue.Extension(type, payload.ToArray());
    }

    private GValue ReadNode(ref WireReader msg, int offset)
    {
        var count = msg.ReadArrayHeader();
        if (count == 0 || msg.PeekType() != MessagePackType.Extension)
            throw new ToscDataException($"An array without a Tosc marker cannot be decoded (offset {offset}).");
        var (marker, length) = msg.ReadExtensionHeader();
        var markerData = msg.ReadRaw(length);
        var id = marker is WireFormat.ValueObject or WireFormat.ArrayValue or WireFormat.EnumValue ? 0 : ReadId(markerData, offset);
        switch (marker)
        {
            case WireFormat.ListNode:
            case WireFormat.SetNode:
            case WireFormat.ArrayValue:
            {
                var kind = marker switch { WireFormat.ListNode => GKind.List, WireFormat.SetNode => GKind.Set, _ => GKind.Array };
                var node = Define(GValue.Node(kind, id), offset);
                for (var i = 1; i < count; i++)
                    node.Items.Add(Read(ref msg));
                return Finish(node);
            }
            case WireFormat.DictNode:
            {
                Expect(count == 2, "A dictionary", 2, offset);
                var node = Define(GValue.Node(GKind.Dict, id), offset);
                var pairs = msg.ReadMapHeader();
                for (var i = 0; i < pairs; i++)
                {
                    var key = Read(ref msg);
                    node.Entries.Add(new(key, Read(ref msg)));
                }
                return Finish(node);
            }
            case WireFormat.BytesNode:
            {
                Expect(count == 2, "A byte array node", 2, offset);
                var node = Define(GValue.Node(GKind.Bytes, id), offset);
                node.Scalar = msg.ReadBinary().ToArray();
                return Finish(node);
            }
            case WireFormat.CounterNode:
            {
                Expect(count == 2, "A counter", 2, offset);
                var node = Define(GValue.Node(GKind.Counter, id), offset);
                node.Scalar = msg.ReadInt64();
                return Finish(node);
            }
            case WireFormat.ObjectNode:
            case WireFormat.ValueObject:
            {
                Expect(count == 3, "An object", 3, offset);
                var name = ReadTypeName(ref msg, offset);
                var node = Define(GValue.Node(marker == WireFormat.ObjectNode ? GKind.Object : GKind.ValueObject, id, name), offset);
                var members = msg.ReadMapHeader();
                for (var i = 0; i < members; i++)
                {
                    var member = msg.ReadString() ?? throw new ToscDataException($"A member name of {name} is nil (offset {msg.Position}).");
                    node.Members.Add(new(member, Read(ref msg)));
                }
                return Finish(node);
            }
            case WireFormat.EnumValue:
            {
                Expect(count == 3, "An enum value", 3, offset);
                var name = ReadTypeName(ref msg, offset);
                return GValue.EnumValue(name, msg.ReadInt64());
            }
            default:
                throw new ToscDataException($"Unknown node marker {marker} (offset {offset}).");
        }
    }

    private static void Expect(bool condition, string what, int elements, int offset)
    {
        if (!condition)
            throw new ToscDataException($"{what} must have {elements} elements (offset {offset}).");
    }

    private GValue Define(GValue node, int offset)
    {
        if (node.Id == 0)
            return node;
        if (!_defined.TryAdd(node.Id, node))
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture, $"Node {node.Id:x16} is defined twice (offset {offset})."));
        return node;
    }

    /// <summary>A node this graph already holds takes the decoded content, so references to it see the change.</summary>
    private GValue Finish(GValue node)
    {
        if (node.Id == 0 || _existing is null || !_existing.TryGetValue(node.Id, out var held) || ReferenceEquals(held, node))
            return node;
        held.TakeContent(node);
        _defined[node.Id] = held;
        return held;
    }

    private string ReadTypeName(ref WireReader msg, int offset)
    {
        if (msg.PeekType() == MessagePackType.Integer)
        {
            var index = msg.ReadInt64();
            if (index < 0 || index >= _typeNames.Count)
                throw new ToscDataException(string.Create(CultureInfo.InvariantCulture, $"A type name refers to index {index}, but only {_typeNames.Count} names were written before it (offset {offset})."));
            return _typeNames[(int)index];
        }
        var name = msg.ReadString();
        if (string.IsNullOrEmpty(name))
            throw new ToscDataException($"A stored type name is empty (offset {offset}).");
        _typeNames.Add(name);
        return name;
    }

    private static long ReadId(ReadOnlySpan<byte> data, int offset)
    {
        if (data.Length != 8)
            throw new ToscDataException($"A node id must have 8 bytes, not {data.Length} (offset {offset}).");
        var id = BinaryPrimitives.ReadInt64BigEndian(data);
        return id != 0 ? id : throw new ToscDataException($"A node id is 0 (offset {offset}).");
    }
}
