using System.Buffers;
using MessagePack;
using Tosc.Live;

namespace Tosc.Serialization;

/// <summary>The untyped face of a codec, for members whose type is only known at run time.</summary>
internal interface IValueCodec
{
    Type Type { get; }

    /// <summary>Whether a value of this type can be, or contain, a live node.</summary>
    bool MayHoldNodes { get; }

    void WriteBoxed(ref GraphWriter writer, object? value);

    object? ReadBoxed(ref GraphReader reader);

    /// <summary>Turns a plain value into its live form inside <paramref name="owner"/> (identity for immutable values).</summary>
    object? ToLiveBoxed(object? value, Manager owner);

    /// <summary>Whether <see cref="FreezeBoxed"/> can return another value: values of this type can hold collections.</summary>
    bool Freezes { get; }

    /// <inheritdoc cref="ValueCodec{T}.Freeze"/>
    object? FreezeBoxed(object? value);
}

/// <summary>Encodes and decodes values whose declared type is <typeparamref name="T"/>, without boxing.</summary>
internal abstract class ValueCodec<T> : IValueCodec
{
    public Type Type => typeof(T);

    public virtual bool MayHoldNodes => false;

    public virtual bool Freezes => false;

    public abstract void Write(ref GraphWriter writer, T value);

    public abstract T Read(ref GraphReader reader);

    /// <summary>Turns a plain value into its live form inside <paramref name="owner"/>.</summary>
    public virtual T ToLive(T value, Manager owner) => value;

    /// <summary>
    /// The form a value takes inside an immutable value that joins a graph: collections become read-only copies, the
    /// form a reader decodes, so the caller's own references cannot change what the graph shows.
    /// </summary>
    public virtual T Freeze(T value) => value;

    public void WriteBoxed(ref GraphWriter writer, object? value) => Write(ref writer, Cast(value));

    public object? ReadBoxed(ref GraphReader reader) => Boxes.Of(Read(ref reader));

    public object? ToLiveBoxed(object? value, Manager owner) => Boxes.Of(ToLive(Cast(value), owner));

    public object? FreezeBoxed(object? value) => Freeze(Cast(value));

    protected static T Cast(object? value)
    {
        if (value is T typed)
            return typed;
        if (value is null && default(T) is null)
            return default!;
        throw new ArgumentException($"A value of type {value?.GetType().FullName ?? "null"} cannot be stored where {TypeNames.Display(typeof(T))} is declared.");
    }
}

/// <summary>
/// Where encoding happens: MessagePack-CSharp's writer plus the pass's <see cref="EncodeContext"/>. A ref struct
/// (the writer is one), so codecs take it by <see langword="ref"/> and never copy it.
/// </summary>
internal ref struct GraphWriter
{
    public MessagePackWriter Msg;
    public readonly EncodeContext Context;

    public GraphWriter(MessagePackWriter msg, EncodeContext context)
    {
        Msg = msg;
        Context = context;
    }

    /// <summary>Above zero inside immutable values: nested collections are written by value, without identity.</summary>
    public readonly int ValueDepth
    {
        get => Context.ValueDepth;
        set => Context.ValueDepth = value;
    }

    public readonly void Learn(Type type) => Context.Learn(type);

    public readonly void Enter() => Context.Enter();

    public readonly void Leave() => Context.Leave();

    /// <inheritdoc cref="EncodeContext.BeginNode"/>
    public readonly bool BeginNode(NodeHeader? header, object instance, out long id) => Context.BeginNode(header, instance, out id);

    /// <summary>Writes a type name, or the index of its first occurrence in this value.</summary>
    public void WriteTypeName(string name)
    {
        if (Context.TryGetTypeIndex(name, out var index))
            Msg.Write(index);
        else
            Msg.WriteText(name);
    }

    public void WriteNodeMarker(sbyte kind, long id)
    {
        Span<byte> bytes = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes, id);
        Msg.WriteExtension(kind, bytes);
    }

    public void WriteReference(long id) => WriteNodeMarker(WireFormat.Reference, id);
}

/// <summary>What one encoding pass over a graph needs, and the reused output buffer (one per manager).</summary>
internal sealed class EncodeContext
{
    private static int s_lastEpoch;
    // A buffer grown past this for one large value is let go once that value is stored (ReleaseLargeBuffers).
    private const int LargeBuffer = 1 << 20;

    private ArrayBufferWriter<byte> _buffer;
    private byte[]? _compressed;
    private Dictionary<string, int>? _typeNames;
    private HashSet<Type>? _registered;
    private Dictionary<object, long>? _plainIds;

    public EncodeContext(Manager? owner, TypeRegistry? registry = null, int initialCapacity = 256)
    {
        Owner = owner;
        Registry = registry;
        _buffer = new ArrayBufferWriter<byte>(Math.Max(initialCapacity, 1));
    }

    /// <summary>Learns every user type written, so the writing manager can read its own values back.</summary>
    public TypeRegistry? Registry { get; }

    /// <summary>The manager whose live nodes are written by identity; nodes of any other graph are copied.</summary>
    public Manager? Owner { get; }

    /// <summary>Stamps the nodes visited in this pass, so a node met twice is written as a reference.</summary>
    public int Epoch { get; private set; }

    /// <summary>Above zero inside immutable values: nested collections are written by value, without identity.</summary>
    public int ValueDepth { get; set; }

    public int Depth { get; private set; }

    /// <summary>Live nodes whose identity was written in this pass (for reachability after a commit).</summary>
    public int NodeCount { get; set; }

    /// <summary>
    /// Set while a new value from the application is written (<c>Write</c>): its dictionary keys and set elements must
    /// be immutable (<see cref="Live.MutableKeys"/>). Not set for the manager's own state, which may hold keys stored earlier.
    /// </summary>
    public bool ChecksKeys { get; set; }

    /// <summary>When set, receives every live node of <see cref="Owner"/> written in full (an operation's new nodes).</summary>
    public List<ILiveNode>? Written { get; set; }

    /// <summary>
    /// Encodes <paramref name="value"/> as a whole stored value (header included) with <paramref name="codec"/>.
    /// The memory is this context's buffer: valid until the next encode.
    /// </summary>
    public ReadOnlyMemory<byte> Encode(IValueCodec codec, object? value, ToscCompression compression = ToscCompression.None)
    {
        Begin();
        _buffer.ResetWrittenCount();
        try
        {
            var writer = new GraphWriter(new MessagePackWriter(_buffer), this);
            WireFormat.WriteHeader(ref writer.Msg);
            codec.WriteBoxed(ref writer, value);
            writer.Msg.Flush();
        }
        finally
        {
            End();
        }
        if (compression == ToscCompression.Lz4 && Lz4Compression.TryCompress(_buffer.WrittenSpan, ref _compressed, out var compressed))
            return compressed;
        return _buffer.WrittenMemory;
    }

    /// <summary>
    /// Lets go of buffers grown for a large value (a whole state), once the caller is done with the memory
    /// <see cref="Encode"/> returned: kept, they would hold a copy of the state for as long as the manager lives.
    /// </summary>
    public void ReleaseLargeBuffers()
    {
        if (_buffer.Capacity > LargeBuffer)
            _buffer = new ArrayBufferWriter<byte>(256);
        if (_compressed?.Length > LargeBuffer)
            _compressed = null;
    }

    /// <summary>Starts a pass: a new epoch, no type names or plain nodes seen yet.</summary>
    public void Begin()
    {
        _typeNames?.Clear();
        _plainIds?.Clear();
        Epoch = Interlocked.Increment(ref s_lastEpoch);
        ValueDepth = 0;
        Depth = 0;
        NodeCount = 0;
    }

    /// <summary>
    /// Ends a pass: the plain objects it met are forgotten, so the context never keeps a value the application wrote
    /// (and everything it references) alive after the write.
    /// </summary>
    public void End()
    {
        if (_plainIds is { Count: > 1024 })
            _plainIds = null; // let a large table go, rather than keep its capacity
        else
            _plainIds?.Clear();
    }

    /// <summary>Teaches the registry a written type once per context, not once per object.</summary>
    public void Learn(Type type)
    {
        if (Registry is null)
            return;
        _registered ??= [];
        if (!_registered.Add(type))
            return;
        if (Readable is not null && !Readable.Allows(type))
        {
            _registered.Remove(type);
            throw new ArgumentException(
                $"A value of type {TypeNames.Display(type)} cannot be stored here: it is not reachable from the root type, so every other manager would refuse to read the store. " +
                $"Add it to ManagerOptions.KnownTypes (in every process), mark it [ToscType(\"...\")], or list it with [ToscKnownType] on its base type.");
        }
        Registry.Register(type);
    }

    /// <summary>What a reader with the same root type and options allows; a value it would refuse is refused here, before anything is stored.</summary>
    public TypeRegistry? Readable { get; init; }

    public void Enter()
    {
        if (++Depth > DeepValues.Limit)
            throw DeepValues.TooDeep(stored: false);
    }

    public void Leave() => Depth--;

    /// <summary>The index of a type name written before in this value; else remembers it and returns false.</summary>
    public bool TryGetTypeIndex(string name, out int index)
    {
        // Names come from the models, one string instance per type: compare references, don't hash text.
        _typeNames ??= new Dictionary<string, int>(ReferenceEqualityComparer.Instance);
        if (_typeNames.TryGetValue(name, out index))
            return true;
        _typeNames.Add(name, _typeNames.Count);
        return false;
    }

    /// <summary>
    /// Decides how a node is written: by reference when this pass met it already (returns false),
    /// otherwise returns true with the id to write before its content.
    /// </summary>
    public bool BeginNode(NodeHeader? header, object instance, out long id)
    {
        if (ValueDepth > 0)
        {
            id = 0;
            return true;
        }
        if (header is not null && header.Owner is not null && ReferenceEquals(header.Owner, Owner))
        {
            id = header.Id;
            if (header.Mark == Epoch)
                return false;
            header.Mark = Epoch;
            NodeCount++;
            if (Written is not null && Nodes.Of(instance) is { } node)
                Written.Add(node);
            return true;
        }
        // A plain value, or a node of another graph: copied, with an id of its own for this value.
        _plainIds ??= new Dictionary<object, long>(ReferenceEqualityComparer.Instance);
        if (_plainIds.TryGetValue(instance, out id))
            return false;
        id = NodeIds.New();
        _plainIds.Add(instance, id);
        return true;
    }
}

/// <summary>Where decoding happens: the MessagePack reader plus the decode context.</summary>
internal ref struct GraphReader
{
    public WireReader Msg;
    public readonly DecodeContext Context;

    public GraphReader(ReadOnlyMemory<byte> data, DecodeContext context)
    {
        Msg = new WireReader(data);
        Context = context;
    }
}

/// <summary>Fresh per decode: what a pass over stored bytes learns and what it must apply at the end.</summary>
internal sealed class DecodeContext
{
    private readonly List<string> _typeNames = [];
    private readonly Dictionary<long, object> _seen = [];
    private readonly List<(ILiveNode Node, object Content)> _pending = [];
    private int _depth;

    public DecodeContext(TypeRegistry registry, Manager? owner, bool live, Dictionary<long, ILiveNode>? existing = null)
    {
        Registry = registry;
        Owner = owner;
        Live = live;
        Existing = existing;
    }

    public TypeRegistry Registry { get; }

    /// <summary>The manager new live nodes belong to (live decodes only).</summary>
    public Manager? Owner { get; }

    /// <summary>True: build live nodes (D-types, proxies). False: plain .NET objects (snapshots).</summary>
    public bool Live { get; }

    /// <summary>Above zero inside immutable values, which always decode to plain objects without identity.</summary>
    public int ValueDepth { get; set; }

    public bool BuildsLive => Live && ValueDepth == 0;

    /// <summary>Live nodes of the current graph by id: reused in place when the new state still has them.</summary>
    public Dictionary<long, ILiveNode>? Existing { get; }

    /// <summary>
    /// False (a whole state): a reused node leaves <see cref="Existing"/>, so what is left there is gone. True (an
    /// operation's value): <see cref="Existing"/> is the manager's node index and stays as it is.
    /// </summary>
    public bool KeepsExisting { get; init; }

    /// <summary>The nodes this pass defined, by id.</summary>
    public IEnumerable<object> Defined => _seen.Values;

    /// <summary>Existing nodes that the new state still holds (their content is swapped in at the end).</summary>
    public IReadOnlyList<(ILiveNode Node, object Content)> Pending => _pending;

    public void Enter(int offset)
    {
        if (++_depth > DeepValues.Limit)
            throw DeepValues.TooDeep(stored: true, offset);
    }

    public void Leave() => _depth--;

    public void Remember(long id, object instance, int offset)
    {
        if (id == 0 || ValueDepth > 0)
            return;
        if (!_seen.TryAdd(id, instance))
            throw new ToscDataException($"The stored value defines node {id:x16} twice (offset {offset}).");
    }

    public object Recall(long id, int offset) =>
        _seen.TryGetValue(id, out var instance)
            ? instance
            : throw new ToscDataException($"The stored value refers to node {id:x16}, which it does not define before (offset {offset}).");

    /// <summary>Returns the existing live node with this id when it can take the new content in place.</summary>
    public TNode? Reuse<TNode>(long id) where TNode : class, ILiveNode
    {
        if (!BuildsLive || Existing is null || id == 0 || !Existing.TryGetValue(id, out var node) || node is not TNode typed)
            return null;
        if (!KeepsExisting)
            Existing.Remove(id);
        return typed;
    }

    public void SwapLater(ILiveNode node, object content) => _pending.Add((node, content));

    public string ReadTypeName(ref WireReader msg)
    {
        var offset = msg.Position;
        if (msg.PeekType() == MessagePackType.Integer)
        {
            var index = msg.ReadInt64();
            if (index < 0 || index >= _typeNames.Count)
                throw new ToscDataException($"The stored value refers to type name #{index}, which it does not define before (offset {offset}).");
            return _typeNames[(int)index];
        }
        var name = msg.ReadString() ?? throw new ToscDataException($"A type name is missing (offset {offset}).");
        _typeNames.Add(name);
        return name;
    }
}

/// <summary>Random 64-bit node ids: stable across managers and processes, never per-manager counters.</summary>
internal static class NodeIds
{
    // Above zero: the next id of a sequential run (golden-store tests need reproducible bytes).
    [ThreadStatic]
    private static long t_sequential;

    public static long New()
    {
        if (t_sequential > 0)
            return t_sequential++;
        long id;
        do
            id = Random.Shared.NextInt64(long.MinValue, long.MaxValue);
        while (id == 0);
        return id;
    }

    /// <summary>Until disposed, ids on this thread are 1, 2, 3...: for tests that compare encoded bytes.</summary>
    public static IDisposable Sequential()
    {
        t_sequential = 1;
        return new SequentialScope();
    }

    private sealed class SequentialScope : IDisposable
    {
        public void Dispose() => t_sequential = 0;
    }

    public static long ReadMarker(ref WireReader msg, sbyte expectedKind, out int offset)
    {
        offset = msg.Position;
        var (kind, length) = msg.ReadExtensionHeader();
        if (kind != expectedKind)
            throw new ToscDataException($"Expected marker {expectedKind} but found extension {kind} (offset {offset}).");
        var bytes = msg.ReadRaw(length);
        return length switch
        {
            8 => System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes),
            1 => 0,
            _ => throw new ToscDataException($"A node marker has {length} bytes; expected 8 (offset {offset})."),
        };
    }
}
