using System.Globalization;
using Tosc.Changes;
using Tosc.Serialization;

namespace Tosc.Cli.Graph;

/// <summary>What one operation of a log record did, for history and watch: the path it wrote, how, and the value.</summary>
internal sealed record GChange(string Path, string Op, GValue? Value);

/// <summary>
/// A stored graph decoded without types, and the log records applied to it in place, as the core applies them
/// (docs/wire-format.md, "Log records"): operations name nodes by id; one on a node the graph does not hold is skipped.
/// </summary>
internal sealed class GraphState
{
    private readonly Dictionary<long, GValue> _index = [];

    public GraphState(GValue root)
    {
        Root = root;
        Reindex();
    }

    public GValue Root { get; private set; }

    /// <summary>Applies one record; checks its base version and commit id as the core does, and returns what it changed.</summary>
    public List<GChange> Apply(ReadOnlyMemory<byte> recordBody, long expectedBase, Guid commitId)
    {
        try
        {
            return DeepValues.Run(GraphDecoder.MaxDepth, () => ApplyChecked(recordBody, expectedBase, commitId));
        }
        catch (Exception e) when (e is not ToscDataException and not OutOfMemoryException)
        {
            throw new ToscDataException($"A log record cannot be decoded: {e.Message}", e);
        }
    }

    private List<GChange> ApplyChecked(ReadOnlyMemory<byte> body, long expectedBase, Guid commitId)
    {
        var reader = new WireReader(body);
        if (reader.ReadArrayHeader() != 3)
            throw new ToscDataException("A log record must be an array of three: base version, commit id, operations.");
        var baseVersion = reader.ReadInt64();
        if (baseVersion != expectedBase)
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"A log record was made against version {baseVersion} but follows version {expectedBase} in the store: records are out of order or were tampered with."));
        var id = reader.ReadBinary();
        if (id.Length != 16 || new Guid(id, bigEndian: true) != commitId)
            throw new ToscDataException("A log record's commit id differs from the one the store keeps for it: the record was moved or tampered with.");
        var count = reader.ReadArrayHeader();
        var paths = PathsById();
        var changes = new List<GChange>();
        for (var i = 0; i < count; i++)
        {
            var start = reader.Position;
            reader.Skip();
            ApplyOp(body.Slice(start, reader.Position - start), paths, changes);
        }
        if (!reader.End)
            throw new ToscDataException($"A log record has {reader.Remaining} bytes after its operations.");
        return changes;
    }

    private void ApplyOp(ReadOnlyMemory<byte> op, Dictionary<long, string> paths, List<GChange> changes)
    {
        var reader = new WireReader(op);
        var arguments = reader.ReadArrayHeader() - 2;
        if (arguments < 0)
            throw new ToscDataException("A log operation must name its node and its kind.");
        var target = reader.ReadInt64();
        var kind = (OpKind)reader.ReadInt32();
        if (target == 0 && kind == OpKind.Lease)
        {
            var holder = reader.ReadBinary();
            var milliseconds = reader.ReadInt64();
            if (holder.Length != 16 || milliseconds is < 0 or > 3_600_000)
                throw new ToscDataException("A lease in a log record must name its holder in 16 bytes and last 0 to one hour.");
            changes.Add(new GChange("", "lease", GValue.Of(GKind.Int, milliseconds)));
            return;
        }
        if (!_index.TryGetValue(target, out var node) || !paths.TryGetValue(target, out var path))
            return; // not reachable at the record's base version: changes nothing visible
        var decoder = new GraphDecoder(_index);
        var change = kind switch
        {
            OpKind.Set => Set(node, path, ref reader, decoder),
            OpKind.Insert => Insert(node, path, ref reader, decoder),
            OpKind.RemoveAt => RemoveAt(node, path, ref reader),
            OpKind.Remove => Remove(node, path, ref reader, decoder),
            OpKind.Add => Add(node, path, ref reader, decoder),
            OpKind.Content => Content(node, path, ref reader, decoder),
            OpKind.Append => Append(node, path, ref reader, decoder),
            OpKind.Increment => Increment(node, path, ref reader),
            _ => throw new ToscDataException($"Unknown log operation kind {(int)kind}."),
        };
        if (!reader.End)
            throw new ToscDataException($"A log operation {change.Op} has {reader.Remaining} bytes after its arguments.");
        foreach (var (id, defined) in decoder.Defined)
            _index[id] = defined;
        changes.Add(change);
    }

    private static GChange Set(GValue node, string path, ref WireReader reader, GraphDecoder decoder)
    {
        switch (node.Kind)
        {
            case GKind.List:
                var index = reader.ReadInt32();
                CheckIndex(node, index, inclusiveEnd: false);
                node.Items[index] = decoder.Read(ref reader);
                return new GChange(GraphPaths.Append(path, new PathStep.Index(index)), "set", node.Items[index]);
            case GKind.Dict:
                var key = decoder.Read(ref reader);
                var value = decoder.Read(ref reader);
                var at = node.FindEntry(key);
                if (at >= 0)
                    node.Entries[at] = new(node.Entries[at].Key, value);
                else
                    node.Entries.Add(new(key, value));
                return new GChange(GraphPaths.Append(path, new PathStep.Key(key)), "set", value);
            case GKind.Object:
                var name = reader.ReadString() ?? throw new ToscDataException("A log operation sets a member without a name.");
                var member = decoder.Read(ref reader);
                var slot = node.Members.FindIndex(m => m.Key == name);
                if (slot >= 0)
                    node.Members[slot] = new(name, member);
                else
                    node.Members.Add(new(name, member));
                return new GChange(GraphPaths.Append(path, new PathStep.Member(name)), "set", member);
            default:
                throw Unexpected("Set", node);
        }
    }

    private static GChange Insert(GValue node, string path, ref WireReader reader, GraphDecoder decoder)
    {
        Expect(node, GKind.List, "Insert");
        var index = reader.ReadInt32();
        CheckIndex(node, index, inclusiveEnd: true);
        var value = decoder.Read(ref reader);
        node.Items.Insert(index, value);
        return new GChange(GraphPaths.Append(path, new PathStep.Index(index)), "insert", value);
    }

    private static GChange RemoveAt(GValue node, string path, ref WireReader reader)
    {
        Expect(node, GKind.List, "RemoveAt");
        var index = reader.ReadInt32();
        CheckIndex(node, index, inclusiveEnd: false);
        node.Items.RemoveAt(index);
        return new GChange(GraphPaths.Append(path, new PathStep.Index(index)), "remove", null);
    }

    private static GChange Remove(GValue node, string path, ref WireReader reader, GraphDecoder decoder)
    {
        var key = decoder.Read(ref reader);
        var at = node.Kind switch
        {
            GKind.Dict => node.FindEntry(key),
            GKind.Set => node.FindItem(key),
            _ => throw Unexpected("Remove", node),
        };
        if (at < 0)
            throw new ToscDataException($"A log record removes {GraphJson.KeyText(key)} from {Describe(node)}, which does not hold it: the record does not follow the state it was applied to.");
        if (node.Kind == GKind.Dict)
            node.Entries.RemoveAt(at);
        else
            node.Items.RemoveAt(at);
        return new GChange(GraphPaths.Append(path, new PathStep.Key(key)), "remove", null);
    }

    private static GChange Add(GValue node, string path, ref WireReader reader, GraphDecoder decoder)
    {
        Expect(node, GKind.Set, "Add");
        var element = decoder.Read(ref reader);
        if (node.FindItem(element) < 0)
            node.Items.Add(element);
        return new GChange(path, "add", element);
    }

    private static GChange Content(GValue node, string path, ref WireReader reader, GraphDecoder decoder)
    {
        switch (node.Kind)
        {
            case GKind.List or GKind.Set:
                var count = reader.ReadArrayHeader();
                var items = new List<GValue>();
                for (var i = 0; i < count; i++)
                    items.Add(decoder.Read(ref reader));
                node.Items.Clear();
                node.Items.AddRange(items);
                break;
            case GKind.Dict:
                var pairs = reader.ReadMapHeader();
                var entries = new List<KeyValuePair<GValue, GValue>>();
                for (var i = 0; i < pairs; i++)
                {
                    var key = decoder.Read(ref reader);
                    entries.Add(new(key, decoder.Read(ref reader)));
                }
                node.Entries.Clear();
                node.Entries.AddRange(entries);
                break;
            case GKind.Bytes:
                node.Scalar = reader.ReadBinary().ToArray();
                break;
            default:
                throw Unexpected("Content", node);
        }
        return new GChange(path, "content", node);
    }

    private static GChange Append(GValue node, string path, ref WireReader reader, GraphDecoder decoder)
    {
        Expect(node, GKind.List, "Append");
        var value = decoder.Read(ref reader);
        node.Items.Add(value);
        return new GChange(GraphPaths.Append(path, new PathStep.Index(node.Items.Count - 1)), "append", value);
    }

    private static GChange Increment(GValue node, string path, ref WireReader reader)
    {
        Expect(node, GKind.Counter, "Increment");
        var delta = reader.ReadInt64();
        node.Scalar = unchecked((long)node.Scalar! + delta);
        return new GChange(path, "increment", GValue.Of(GKind.Int, delta));
    }

    private static void Expect(GValue node, GKind kind, string op)
    {
        if (node.Kind != kind)
            throw Unexpected(op, node);
    }

    private static void CheckIndex(GValue node, int index, bool inclusiveEnd)
    {
        var count = node.Items.Count;
        if (index < 0 || index > count || (index == count && !inclusiveEnd))
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"A log record names index {index} of {Describe(node)}, which holds {count} elements: the record does not follow the state it was applied to."));
    }

    private static ToscDataException Unexpected(string op, GValue node) =>
        new($"A log record applies the operation {op} to {Describe(node)}, which has no such operation.");

    private static string Describe(GValue node) => $"node {GraphJson.IdText(node.Id)} ({node.Describe()})";

    private void Reindex()
    {
        _index.Clear();
        foreach (var (node, _) in Walk())
            _index[node.Id] = node;
    }

    /// <summary>The path of every node reachable from the root (the first path found, breadth first).</summary>
    public Dictionary<long, string> PathsById()
    {
        var paths = new Dictionary<long, string>();
        foreach (var (node, path) in Walk())
            paths[node.Id] = path;
        return paths;
    }

    private IEnumerable<(GValue Node, string Path)> Walk()
    {
        var seen = new HashSet<GValue>(ReferenceEqualityComparer.Instance);
        var pending = new Queue<(GValue, string)>([(Root, "")]);
        while (pending.TryDequeue(out var entry))
        {
            var (value, path) = entry;
            if (value.IsNode && !seen.Add(value))
                continue;
            if (value.IsNode)
                yield return (value, path);
            switch (value.Kind)
            {
                case GKind.List or GKind.Array or GKind.Set:
                    for (var i = 0; i < value.Items.Count; i++)
                        pending.Enqueue((value.Items[i], GraphPaths.Append(path, new PathStep.Index(i))));
                    break;
                case GKind.Dict:
                    foreach (var (key, item) in value.Entries)
                    {
                        pending.Enqueue((key, path));
                        pending.Enqueue((item, GraphPaths.Append(path, new PathStep.Key(key))));
                    }
                    break;
                case GKind.Object or GKind.ValueObject:
                    foreach (var (name, item) in value.Members)
                        pending.Enqueue((item, GraphPaths.Append(path, new PathStep.Member(name))));
                    break;
            }
        }
    }
}
