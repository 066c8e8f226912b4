using System.Collections.Immutable;
using System.Collections.ObjectModel;
using System.Runtime.InteropServices;
using Tosc.Live;

namespace Tosc.Serialization;

/// <summary>Shared steps of node codecs: nil, references, and the node marker.</summary>
internal static class NodeReading
{
    /// <summary>Collections grow as items arrive: a hostile declared count never reserves memory up front.</summary>
    public const int MaxInitialCapacity = 1024;

    /// <summary>Handles nil and a reference; returns false when a full node follows.</summary>
    public static bool TryReadNullOrReference<TDecl>(ref GraphReader reader, out TDecl value)
    {
        ref var msg = ref reader.Msg;
        if (msg.TryReadNil())
        {
            value = default!;
            return true;
        }
        if (msg.PeekType() != MessagePackType.Extension)
        {
            value = default!;
            return false;
        }
        var id = NodeIds.ReadMarker(ref msg, WireFormat.Reference, out var offset);
        var target = reader.Context.Recall(id, offset);
        value = target is TDecl typed
            ? typed
            : throw new ToscDataException($"Node {id:x16} is a {TypeNames.Display(target.GetType())}, which cannot stand where {TypeNames.Display(typeof(TDecl))} is declared (offset {offset}).");
        return true;
    }

    public static int ReadNodeHeader(ref GraphReader reader, sbyte kind, int minimumCount, out long id, out int offset)
    {
        offset = reader.Msg.Position;
        if (reader.Msg.PeekType() != MessagePackType.Array)
            throw new ToscDataException($"Expected a {KindName(kind)} but found {reader.Msg.PeekType()} (offset {offset}).");
        var count = reader.Msg.ReadArrayHeader();
        if (count < minimumCount)
            throw new ToscDataException($"A {KindName(kind)} needs at least {minimumCount} elements (offset {offset}).");
        id = NodeIds.ReadMarker(ref reader.Msg, kind, out _);
        return count;
    }

    public static string KindName(sbyte kind) => kind switch
    {
        WireFormat.ListNode => "list",
        WireFormat.DictNode => "dictionary",
        WireFormat.SetNode => "set",
        WireFormat.BytesNode => "byte array",
        WireFormat.ObjectNode => "object",
        WireFormat.ValueObject => "immutable object",
        WireFormat.ArrayValue => "array",
        _ => $"node of kind {kind}",
    };

    public static TDecl As<TDecl>(object value, int offset) =>
        value is TDecl typed
            ? typed
            : throw new ToscDataException($"A stored {TypeNames.Display(value.GetType())} cannot stand where {TypeNames.Display(typeof(TDecl))} is declared (offset {offset}).");
}

/// <summary>
/// Lists and sets: a node whose content is a sequence of items. Live graphs hold the D-type
/// (<typeparamref name="TNode"/>); snapshots hold the plain collection (<typeparamref name="TContent"/>).
/// </summary>
internal abstract class SequenceCodec<TDecl, T, TNode, TContent> : ValueCodec<TDecl>
    where TDecl : IEnumerable<T>?
    where TNode : class, ILiveNode, IEnumerable<T>
    where TContent : class, ICollection<T>
{
    protected static readonly ValueCodec<T> ItemCodec = Codecs.Get<T>();
    private static readonly bool s_declaredNode = typeof(TDecl) == typeof(TNode);

    // A concrete List<T> or HashSet<T> is declared: the collection is a plain value inside the graph (no live node can
    // stand there), like an array. Changes inside it are not tracked; assigning a new one is.
    private static readonly bool s_plainDeclared = !typeof(TDecl).IsAssignableFrom(typeof(TNode));

    // Inside an immutable value (a record...) the declared interface holds a read-only collection: see ObjectModel.CheckValue.
    private readonly bool _readOnlyInValues;

    protected SequenceCodec(Type readOnlyType) => _readOnlyInValues = typeof(TDecl).IsAssignableFrom(readOnlyType);

    public override bool MayHoldNodes => true;

    public override bool Freezes => _readOnlyInValues;

    protected abstract sbyte Kind { get; }

    protected abstract TContent NewContent(int capacity);

    /// <summary>The content a node read empty starts with, shared by every such node (see <see cref="DList{T}.SharedEmpty"/>).</summary>
    protected abstract TContent SharedEmpty { get; }

    protected abstract TNode NewNode(TContent content, NodeHeader header);

    protected abstract TContent ContentOf(TNode node);

    /// <summary>Makes the items of a node that joins a graph live (in place or by swapping its content).</summary>
    protected abstract void AdoptItems(TNode node, Manager owner);

    /// <summary>Checks an element about to join the graph; sets refuse mutable ones (<see cref="MutableKeys"/>).</summary>
    protected virtual void CheckNewItem(T item)
    {
    }

    /// <summary>The read-only collection over <paramref name="items"/> that stands inside immutable values.</summary>
    protected abstract object ReadOnly(TContent items);

    public override void Write(ref GraphWriter writer, TDecl value)
    {
        if (value is null)
        {
            writer.Msg.WriteNil();
            return;
        }
        var live = value as TNode;
        if (!writer.BeginNode(live?.Header, value, out var id))
        {
            writer.WriteReference(id);
            return;
        }
        var items = live is not null ? ContentOf(live) : value as ICollection<T> ?? [.. value];
        if (writer.Context.ChecksKeys && ItemCodec.MayHoldNodes)
        {
            foreach (var item in items)
                CheckNewItem(item);
        }
        writer.Msg.WriteArrayHeader(items.Count + 1);
        writer.WriteNodeMarker(Kind, id);
        writer.Enter();
        switch (items)
        {
            case List<T> list:
                foreach (var item in list)
                    ItemCodec.Write(ref writer, item);
                break;
            case HashSet<T> set:
                foreach (var item in set)
                    ItemCodec.Write(ref writer, item);
                break;
            default:
                foreach (var item in items)
                    ItemCodec.Write(ref writer, item);
                break;
        }
        writer.Leave();
    }

    public override TDecl Read(ref GraphReader reader)
    {
        if (NodeReading.TryReadNullOrReference<TDecl>(ref reader, out var done))
            return done;
        var count = NodeReading.ReadNodeHeader(ref reader, Kind, 1, out var id, out var offset) - 1;
        var context = reader.Context;
        var node = !s_plainDeclared && (context.BuildsLive || s_declaredNode);
        // Only a node may start with the shared empty content: it copies before its first change; a plain collection would not.
        var items = node && count == 0 ? SharedEmpty : NewContent(Math.Min(count, NodeReading.MaxInitialCapacity));
        object result = items;
        TNode? reused = null;
        if (node)
        {
            reused = context.Reuse<TNode>(id);
            result = reused ?? NewNode(items, context.BuildsLive ? new NodeHeader { Id = id, Owner = context.Owner } : new NodeHeader());
        }
        var typed = NodeReading.As<TDecl>(result, offset);
        context.Remember(id, result, offset);
        context.Enter(offset);
        for (var i = 0; i < count; i++)
            items.Add(ItemCodec.Read(ref reader));
        context.Leave();
        if (reused is not null)
            context.SwapLater(reused, items);
        return context.ValueDepth > 0 && _readOnlyInValues ? (TDecl)ReadOnly(items) : typed;
    }

    public override TDecl Freeze(TDecl value)
    {
        if (value is null || !_readOnlyInValues)
            return value;
        var items = NewContent(value is ICollection<T> collection ? collection.Count : 4);
        foreach (var item in value)
            items.Add(ItemCodec.Freeze(item));
        return (TDecl)ReadOnly(items);
    }

    public override TDecl ToLive(TDecl value, Manager owner)
    {
        if (value is null)
            return value;
        if (s_plainDeclared)
        {
            var plain = NewContent(value is ICollection<T> collection ? collection.Count : 4);
            foreach (var item in value)
            {
                CheckNewItem(item);
                plain.Add(ItemCodec.ToLive(item, owner));
            }
            return NodeReading.As<TDecl>(plain, 0);
        }
        if (value is TNode node)
        {
            // A node of this graph stays itself; a node of no graph joins this one (the caller's reference stays live).
            var header = node.Header;
            if (ReferenceEquals(header.Owner, owner))
                return value;
            if (header.Owner is null)
            {
                foreach (var item in ContentOf(node))
                    CheckNewItem(item);
                header.Join(owner);
                AdoptItems(node, owner);
                return value;
            }
        }
        var items = NewContent(value is ICollection<T> c ? c.Count : 4);
        foreach (var item in value)
        {
            CheckNewItem(item);
            items.Add(ItemCodec.ToLive(item, owner));
        }
        var fresh = new NodeHeader();
        fresh.Join(owner);
        return NodeReading.As<TDecl>(NewNode(items, fresh), 0);
    }
}

/// <summary>Lists: DList in live graphs, List in snapshots.</summary>
internal sealed class ListCodec<TDecl, T> : SequenceCodec<TDecl, T, DList<T>, List<T>> where TDecl : IEnumerable<T>?
{
    public ListCodec()
        : base(typeof(ReadOnlyCollection<T>))
    {
    }

    protected override object ReadOnly(List<T> items) => items.AsReadOnly();

    protected override sbyte Kind => WireFormat.ListNode;

    protected override List<T> NewContent(int capacity) => new(capacity);

    protected override List<T> SharedEmpty => DList<T>.SharedEmpty;

    protected override DList<T> NewNode(List<T> content, NodeHeader header) => new(content, header);

    protected override List<T> ContentOf(DList<T> node) => node.Items;

    protected override void AdoptItems(DList<T> node, Manager owner)
    {
        var items = node.WritableItems;
        for (var i = 0; i < items.Count; i++)
            items[i] = ItemCodec.ToLive(items[i], owner);
    }
}

/// <summary>Dictionaries: DDict in live graphs, Dictionary (or the declared one) in snapshots.</summary>
internal sealed class DictCodec<TDecl, TKey, TValue> : ValueCodec<TDecl>
    where TDecl : IEnumerable<KeyValuePair<TKey, TValue>>?
    where TKey : notnull
{
    private static readonly ValueCodec<TKey> s_keys = Codecs.Get<TKey>();
    private static readonly ValueCodec<TValue> s_values = Codecs.Get<TValue>();
    private static readonly bool s_declaredDDict = typeof(TDecl) == typeof(DDict<TKey, TValue>);

    // A concrete Dictionary<TKey, TValue> is declared: a plain value inside the graph (see SequenceCodec).
    private static readonly bool s_plainDeclared = !typeof(TDecl).IsAssignableFrom(typeof(DDict<TKey, TValue>));

    // Inside an immutable value (a record...) the declared interface holds a read-only dictionary: see ObjectModel.CheckValue.
    private static readonly bool s_readOnlyInValues = typeof(TDecl).IsAssignableFrom(typeof(ReadOnlyDictionary<TKey, TValue>));

    public override bool MayHoldNodes => true;

    public override bool Freezes => s_readOnlyInValues;

    public override void Write(ref GraphWriter writer, TDecl value)
    {
        if (value is null)
        {
            writer.Msg.WriteNil();
            return;
        }
        var live = value as DDict<TKey, TValue>;
        if (!writer.BeginNode(live is null ? null : ((ILiveNode)live).Header, value, out var id))
        {
            writer.WriteReference(id);
            return;
        }
        writer.Msg.WriteArrayHeader(2);
        writer.WriteNodeMarker(WireFormat.DictNode, id);
        writer.Enter();
        if (writer.Context.ChecksKeys && s_keys.MayHoldNodes)
        {
            foreach (var (key, _) in value)
                MutableKeys.Check(key, element: false);
        }
        var dictionary = live?.Items ?? value as Dictionary<TKey, TValue>;
        if (dictionary is not null)
        {
            writer.Msg.WriteMapHeader(dictionary.Count);
            foreach (var (key, item) in dictionary)
            {
                s_keys.Write(ref writer, key);
                s_values.Write(ref writer, item);
            }
        }
        else
        {
            var entries = value as ICollection<KeyValuePair<TKey, TValue>> ?? [.. value];
            writer.Msg.WriteMapHeader(entries.Count);
            foreach (var (key, item) in entries)
            {
                s_keys.Write(ref writer, key);
                s_values.Write(ref writer, item);
            }
        }
        writer.Leave();
    }

    public override TDecl Read(ref GraphReader reader)
    {
        if (NodeReading.TryReadNullOrReference<TDecl>(ref reader, out var done))
            return done;
        NodeReading.ReadNodeHeader(ref reader, WireFormat.DictNode, 2, out var id, out var offset);
        var context = reader.Context;
        var count = reader.Msg.ReadMapHeader();
        var node = !s_plainDeclared && (context.BuildsLive || s_declaredDDict);
        // Only a node may start with the shared empty content: it copies before its first change; a plain dictionary would not.
        var items = node && count == 0 ? DDict<TKey, TValue>.SharedEmpty : new Dictionary<TKey, TValue>(Math.Min(count, NodeReading.MaxInitialCapacity));
        object result;
        DDict<TKey, TValue>? reused = null;
        if (node)
        {
            reused = context.Reuse<DDict<TKey, TValue>>(id);
            result = reused ?? new DDict<TKey, TValue>(items, context.BuildsLive ? new NodeHeader { Id = id, Owner = context.Owner } : new NodeHeader());
        }
        else
        {
            result = items;
        }
        var typed = NodeReading.As<TDecl>(result, offset);
        context.Remember(id, result, offset);
        context.Enter(offset);
        for (var i = 0; i < count; i++)
        {
            var keyOffset = reader.Msg.Position;
            var key = s_keys.Read(ref reader);
            if (key is null)
                throw new ToscDataException($"A dictionary key is nil (offset {keyOffset}).");
            if (!items.TryAdd(key, s_values.Read(ref reader)))
                throw new ToscDataException($"A dictionary holds the key '{key}' twice (offset {keyOffset}).");
        }
        context.Leave();
        if (reused is not null)
            context.SwapLater(reused, items);
        return context.ValueDepth > 0 && s_readOnlyInValues ? (TDecl)(object)items.AsReadOnly() : typed;
    }

    public override TDecl Freeze(TDecl value)
    {
        if (value is null || !s_readOnlyInValues)
            return value;
        var items = new Dictionary<TKey, TValue>();
        foreach (var (key, item) in value)
            items[key] = s_values.Freeze(item);
        return (TDecl)(object)items.AsReadOnly();
    }

    public override TDecl ToLive(TDecl value, Manager owner)
    {
        if (value is null)
            return value;
        if (s_plainDeclared)
        {
            var plain = new Dictionary<TKey, TValue>();
            foreach (var (key, item) in value)
            {
                MutableKeys.Check(key, element: false);
                plain[key] = s_values.ToLive(item, owner);
            }
            return NodeReading.As<TDecl>(plain, 0);
        }
        if (value is DDict<TKey, TValue> dict)
        {
            var header = ((ILiveNode)dict).Header;
            if (ReferenceEquals(header.Owner, owner))
                return value;
            if (header.Owner is null)
            {
                foreach (var key in dict.Items.Keys)
                    MutableKeys.Check(key, element: false);
                header.Join(owner);
                var existing = dict.WritableItems;
                foreach (var key in existing.Keys.ToList())
                    existing[key] = s_values.ToLive(existing[key], owner);
                return value;
            }
        }
        var items = new Dictionary<TKey, TValue>();
        foreach (var (key, item) in value)
        {
            MutableKeys.Check(key, element: false);
            items[key] = s_values.ToLive(item, owner);
        }
        var fresh = new NodeHeader();
        fresh.Join(owner);
        return NodeReading.As<TDecl>(new DDict<TKey, TValue>(items, fresh), 0);
    }
}

/// <summary>Sets: DSet in live graphs, HashSet in snapshots.</summary>
internal sealed class SetCodec<TDecl, T> : SequenceCodec<TDecl, T, DSet<T>, HashSet<T>> where TDecl : IEnumerable<T>?
{
    public SetCodec()
        : base(typeof(ReadOnlySet<T>))
    {
    }

    protected override object ReadOnly(HashSet<T> items) => new ReadOnlySet<T>(items);

    protected override sbyte Kind => WireFormat.SetNode;

    protected override void CheckNewItem(T item) => MutableKeys.Check(item, element: true);

    protected override HashSet<T> NewContent(int capacity) => new(capacity);

    protected override HashSet<T> SharedEmpty => DSet<T>.SharedEmpty;

    protected override DSet<T> NewNode(HashSet<T> content, NodeHeader header) => new(content, header);

    protected override HashSet<T> ContentOf(DSet<T> node) => node.Items;

    protected override void AdoptItems(DSet<T> node, Manager owner)
    {
        if (ItemCodec.MayHoldNodes)
            node.ReplaceContent([.. node.Items.Select(item => ItemCodec.ToLive(item, owner))]);
    }
}

/// <summary>Byte arrays that change in place: DByteArray (also for members declared as IList&lt;byte&gt;).</summary>
internal sealed class BytesNodeCodec<TDecl> : ValueCodec<TDecl> where TDecl : IEnumerable<byte>?
{
    private static readonly bool s_plainList = typeof(TDecl).IsAssignableFrom(typeof(List<byte>)) && typeof(TDecl) != typeof(DByteArray);

    // A concrete List<byte> is declared: a plain value inside the graph (see SequenceCodec).
    private static readonly bool s_plainDeclared = !typeof(TDecl).IsAssignableFrom(typeof(DByteArray));

    // Inside an immutable value (a record...) the declared interface holds read-only bytes: see ObjectModel.CheckValue.
    private static readonly bool s_readOnlyInValues = typeof(TDecl).IsAssignableFrom(typeof(ReadOnlyCollection<byte>));

    public override bool MayHoldNodes => true;

    public override bool Freezes => s_readOnlyInValues;

    public override void Write(ref GraphWriter writer, TDecl value)
    {
        if (value is null)
        {
            writer.Msg.WriteNil();
            return;
        }
        var live = value as DByteArray;
        if (!writer.BeginNode(live is null ? null : ((ILiveNode)live).Header, value, out var id))
        {
            writer.WriteReference(id);
            return;
        }
        writer.Msg.WriteArrayHeader(2);
        writer.WriteNodeMarker(WireFormat.BytesNode, id);
        if (live is not null)
            writer.Msg.WriteBinary(live.AsSpan());
        else
            writer.Msg.WriteBinary(value as byte[] ?? [.. value]);
    }

    public override TDecl Read(ref GraphReader reader)
    {
        if (NodeReading.TryReadNullOrReference<TDecl>(ref reader, out var done))
            return done;
        NodeReading.ReadNodeHeader(ref reader, WireFormat.BytesNode, 2, out var id, out var offset);
        var context = reader.Context;
        var bytes = reader.Msg.ReadBinary().ToArray();
        object result;
        if (context.ValueDepth > 0 && s_readOnlyInValues)
        {
            result = Array.AsReadOnly(bytes);
        }
        else if (context.BuildsLive && !s_plainDeclared)
        {
            var reused = context.Reuse<DByteArray>(id);
            if (reused is not null)
                context.SwapLater(reused, bytes);
            result = reused ?? new DByteArray(bytes, bytes.Length, new NodeHeader { Id = id, Owner = context.Owner });
        }
        else
        {
            result = s_plainList ? new List<byte>(bytes) : new DByteArray(bytes, bytes.Length, new NodeHeader());
        }
        context.Remember(id, result, offset);
        return NodeReading.As<TDecl>(result, offset);
    }

    public override TDecl Freeze(TDecl value) =>
        value is null || !s_readOnlyInValues ? value : (TDecl)(object)Array.AsReadOnly(value.ToArray());

    public override TDecl ToLive(TDecl value, Manager owner)
    {
        if (value is null)
            return value;
        if (s_plainDeclared)
            return NodeReading.As<TDecl>(new List<byte>(value), 0);
        if (value is DByteArray array)
        {
            var header = ((ILiveNode)array).Header;
            if (ReferenceEquals(header.Owner, owner))
                return value;
            if (header.Owner is null)
            {
                header.Join(owner);
                return value;
            }
        }
        var bytes = value as byte[] ?? [.. value];
        var fresh = new NodeHeader();
        fresh.Join(owner);
        return NodeReading.As<TDecl>(new DByteArray(bytes, bytes.Length, fresh), 0);
    }
}

/// <summary>Arrays other than byte[]: immutable values, written whole, never live.</summary>
internal sealed class ArrayCodec<T> : ValueCodec<T[]?>
{
    private static readonly ValueCodec<T> s_items = Codecs.Get<T>();

    public override void Write(ref GraphWriter writer, T[]? value)
    {
        if (value is null)
        {
            writer.Msg.WriteNil();
            return;
        }
        writer.Msg.WriteArrayHeader(value.Length + 1);
        writer.Msg.WriteExtension(WireFormat.ArrayValue, [0]);
        writer.Enter();
        writer.ValueDepth++;
        foreach (var item in value)
            s_items.Write(ref writer, item);
        writer.ValueDepth--;
        writer.Leave();
    }

    public override T[]? Read(ref GraphReader reader)
    {
        if (reader.Msg.TryReadNil())
            return null;
        var count = NodeReading.ReadNodeHeader(ref reader, WireFormat.ArrayValue, 1, out _, out var offset) - 1;
        var context = reader.Context;
        var items = new T[count];
        context.Enter(offset);
        context.ValueDepth++;
        for (var i = 0; i < count; i++)
            items[i] = s_items.Read(ref reader);
        context.ValueDepth--;
        context.Leave();
        return items;
    }
}

/// <summary>Counters whose increments merge: DCounter, a node holding one integer.</summary>
internal sealed class CounterCodec : ValueCodec<DCounter?>
{
    public override bool MayHoldNodes => true;

    public override void Write(ref GraphWriter writer, DCounter? value)
    {
        if (value is null)
        {
            writer.Msg.WriteNil();
            return;
        }
        if (!writer.BeginNode(((ILiveNode)value).Header, value, out var id))
        {
            writer.WriteReference(id);
            return;
        }
        writer.Msg.WriteArrayHeader(2);
        writer.WriteNodeMarker(WireFormat.CounterNode, id);
        writer.Msg.Write(value.Stored);
    }

    public override DCounter? Read(ref GraphReader reader)
    {
        if (NodeReading.TryReadNullOrReference<DCounter?>(ref reader, out var done))
            return done;
        NodeReading.ReadNodeHeader(ref reader, WireFormat.CounterNode, 2, out var id, out var offset);
        var context = reader.Context;
        var value = reader.Msg.ReadInt64();
        DCounter result;
        if (context.BuildsLive)
        {
            var reused = context.Reuse<DCounter>(id);
            if (reused is not null)
                context.SwapLater(reused, value);
            result = reused ?? new DCounter(value, new NodeHeader { Id = id, Owner = context.Owner });
        }
        else
        {
            result = new DCounter(value); // a snapshot: detached, holding the value
        }
        context.Remember(id, result, offset);
        return result;
    }

    public override DCounter? ToLive(DCounter? value, Manager owner)
    {
        if (value is null)
            return value;
        var header = ((ILiveNode)value).Header;
        if (ReferenceEquals(header.Owner, owner))
            return value;
        if (header.Owner is null)
        {
            header.Join(owner);
            return value;
        }
        // Another manager's counter: this graph gets its own, at the same value.
        var fresh = new NodeHeader();
        fresh.Join(owner);
        return new DCounter(value.Stored, fresh);
    }
}

/// <summary>
/// ImmutableArray&lt;T&gt;: stored exactly as T[] is (ImmutableArray&lt;byte&gt; as byte[]), so a member can move from
/// an array to it, the way to keep an array inside a record, without a change to the stored bytes.
/// </summary>
internal sealed class ImmutableArrayCodec<T> : ValueCodec<ImmutableArray<T>>
{
    private static readonly ValueCodec<T[]> s_array = Codecs.Get<T[]>();
    private static readonly ValueCodec<T> s_items = Codecs.Get<T>();

    public override bool Freezes => s_items.Freezes;

    public override void Write(ref GraphWriter writer, ImmutableArray<T> value)
    {
        if (value.IsDefault)
            writer.Msg.WriteNil();
        else
            s_array.Write(ref writer, ImmutableCollectionsMarshal.AsArray(value)!);
    }

    public override ImmutableArray<T> Read(ref GraphReader reader) =>
        s_array.Read(ref reader) is { } items ? ImmutableCollectionsMarshal.AsImmutableArray(items) : default;

    public override ImmutableArray<T> Freeze(ImmutableArray<T> value) =>
        value.IsDefault || !s_items.Freezes ? value : ImmutableArray.CreateRange(value, s_items.Freeze);
}
