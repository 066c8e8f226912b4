using System.Collections;
using System.Collections.Specialized;
using System.ComponentModel;
using Tosc.Feed;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Tosc.Changes;
using Tosc.Conflicts;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc;

/// <summary>
/// A live dictionary. Read from a manager, every change is recorded: inside a transaction it is buffered,
/// outside one it commits at once. Created with <c>new</c>, it is a plain dictionary until it is stored.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
[DebuggerDisplay("Count = {Count}")]
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "Mirrors tosc's DDict.")]
public sealed class DDict<TKey, TValue> : IDictionary<TKey, TValue>, IReadOnlyDictionary<TKey, TValue>, ILiveNode, IObservableNode, INotifyCollectionChanged, INotifyPropertyChanged
    where TKey : notnull
{
    private static readonly ValueCodec<TKey> s_keyCodec = Codecs.Get<TKey>();
    private static readonly ValueCodec<TValue> s_valueCodec = Codecs.Get<TValue>();
    private readonly NodeHeader _header;
    private Dictionary<TKey, TValue> _items;
    private Readers? _readers; // made by the first enumeration: most collections are never enumerated while they change

    /// <summary>Creates an empty dictionary, not yet stored.</summary>
    public DDict() : this([], new NodeHeader()) { }

    /// <summary>Creates a dictionary holding <paramref name="items"/>, not yet stored.</summary>
    public DDict(IEnumerable<KeyValuePair<TKey, TValue>> items) : this(new Dictionary<TKey, TValue>(items), new NodeHeader()) { }

    internal DDict(Dictionary<TKey, TValue> items, NodeHeader header)
    {
        _items = items;
        _header = header;
    }

    /// <summary>
    /// Raised once per change applied to the dictionary (items are <see cref="KeyValuePair{TKey, TValue}"/>, index -1):
    /// another manager's when it is applied here, this manager's when its transaction commits. On
    /// <see cref="ManagerOptions.SynchronizationContext"/> when one is set, else on the thread that applied it.
    /// </summary>
    public event NotifyCollectionChangedEventHandler? CollectionChanged;

    /// <summary>Raised with <c>Count</c>, <c>Item[]</c>, <c>Keys</c> and <c>Values</c> alongside <see cref="CollectionChanged"/>.</summary>
    public event PropertyChangedEventHandler? PropertyChanged;

    /// <inheritdoc cref="IDictionary{TKey, TValue}.this"/>
    public TValue this[TKey key]
    {
        get
        {
            var owner = _header.Owner;
            if (owner is null)
                return _items[key];
            lock (owner.Gate)
            {
                owner.NoteRead(this, key);
                return _items[key];
            }
        }
        set => Set(key, value);
    }

    /// <inheritdoc cref="ICollection{T}.Count"/>
    public int Count
    {
        get
        {
            var owner = _header.Owner;
            if (owner is null)
                return _items.Count;
            lock (owner.Gate)
            {
                owner.NoteRead(this, Slot.Count);
                return _items.Count;
            }
        }
    }

    /// <summary>The keys, copied at the time of the call.</summary>
    public ICollection<TKey> Keys => Locked(static items => (ICollection<TKey>)[.. items.Keys]);

    /// <summary>The values, copied at the time of the call.</summary>
    public ICollection<TValue> Values => Locked(static items => (ICollection<TValue>)[.. items.Values]);

    IEnumerable<TKey> IReadOnlyDictionary<TKey, TValue>.Keys => Keys;

    IEnumerable<TValue> IReadOnlyDictionary<TKey, TValue>.Values => Values;

    bool ICollection<KeyValuePair<TKey, TValue>>.IsReadOnly => false;

    NodeHeader ILiveNode.Header => _header;

    object ILiveNode.Instance => this;

    internal Dictionary<TKey, TValue> Items => _items;

    /// <summary>The content to change in place: a copy when an enumeration runs over the current one. Callers hold the gate.</summary>
    internal Dictionary<TKey, TValue> WritableItems => Readers.Writable(ref _items, ref _readers, SharedEmpty, static items => new Dictionary<TKey, TValue>(items));

    /// <summary>
    /// The content every empty dictionary read from a store starts with (most stay empty): never changed, since every
    /// change goes through <see cref="WritableItems"/>, which gives the dictionary content of its own first.
    /// </summary>
    internal static Dictionary<TKey, TValue> SharedEmpty { get; } = [];

    /// <inheritdoc/>
    public void Add(TKey key, TValue value)
    {
        if (ContainsKey(key))
            throw new ArgumentException($"An item with the key '{key}' is already in the dictionary.", nameof(key));
        Set(key, value);
    }

    /// <inheritdoc/>
    public bool Remove(TKey key)
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
            return WritableItems.Remove(key);
        return owner.Mutate(this, key, static (dict, key, work) =>
        {
            work.NoteRead(dict, key); // whether it was there: the result says
            if (!dict._items.ContainsKey(key) || !dict.WritableItems.Remove(key, out var old))
                return false;
            work.Record(DictChange<TKey, TValue>.Remove(dict, key, old));
            return true;
        });
    }

    /// <inheritdoc/>
    public bool ContainsKey(TKey key)
    {
        var owner = _header.Owner;
        if (owner is null)
            return _items.ContainsKey(key);
        lock (owner.Gate)
        {
            owner.NoteRead(this, key);
            return _items.ContainsKey(key);
        }
    }

    /// <inheritdoc/>
    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        var owner = _header.Owner;
        if (owner is null)
            return _items.TryGetValue(key, out value);
        lock (owner.Gate)
        {
            owner.NoteRead(this, key);
            return _items.TryGetValue(key, out value);
        }
    }

    /// <summary>Returns the value for <paramref name="key"/>, or <paramref name="defaultValue"/> when it is absent.</summary>
    public TValue GetValueOrDefault(TKey key, TValue defaultValue) => TryGetValue(key, out var value) ? value : defaultValue;

    /// <inheritdoc/>
    public void Clear()
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
        {
            WritableItems.Clear();
            return;
        }
        owner.Mutate(this, 0, static (dict, _, work) =>
        {
            if (dict._items.Count == 0)
            {
                work.NoteRead(dict, Slot.Count); // nothing to clear: that depends on the count seen
                return;
            }
            var old = dict._items;
            dict.ReplaceContent([]);
            work.Record(DictChange<TKey, TValue>.Clear(dict, old));
        });
    }

    /// <summary>
    /// Enumerates the entries as they are when the enumeration starts: a change made meanwhile (by another thread's
    /// transaction, the watcher, or this thread) goes to a copy, so the enumeration never throws because of it and
    /// never sees a change half made.
    /// </summary>
    public LiveEnumerator<KeyValuePair<TKey, TValue>, Dictionary<TKey, TValue>.Enumerator> GetEnumerator()
    {
        var (items, readers) = Readers.Enumerate(this, static node => (node._items, node._readers ??= new()));
        return new(items.GetEnumerator(), readers);
    }

    IEnumerator<KeyValuePair<TKey, TValue>> IEnumerable<KeyValuePair<TKey, TValue>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    void ICollection<KeyValuePair<TKey, TValue>>.Add(KeyValuePair<TKey, TValue> item) => Add(item.Key, item.Value);

    bool ICollection<KeyValuePair<TKey, TValue>>.Contains(KeyValuePair<TKey, TValue> item) =>
        TryGetValue(item.Key, out var value) && EqualityComparer<TValue>.Default.Equals(value, item.Value);

    void ICollection<KeyValuePair<TKey, TValue>>.CopyTo(KeyValuePair<TKey, TValue>[] array, int arrayIndex) =>
        Locked(items => { ((ICollection<KeyValuePair<TKey, TValue>>)items).CopyTo(array, arrayIndex); return 0; });

    bool ICollection<KeyValuePair<TKey, TValue>>.Remove(KeyValuePair<TKey, TValue> item) =>
        ((ICollection<KeyValuePair<TKey, TValue>>)this).Contains(item) && Remove(item.Key);

    void ILiveNode.PushChildren(Stack<ILiveNode> pending)
    {
        if (s_valueCodec.MayHoldNodes)
        {
            foreach (var value in _items.Values)
                Nodes.Push(pending, value);
        }
        if (s_keyCodec.MayHoldNodes)
        {
            foreach (var key in _items.Keys)
                Nodes.Push(pending, key);
        }
    }

    /// <summary>Swaps in new content; enumerations of the old one finish over it. Callers hold the gate.</summary>
    internal void ReplaceContent(Dictionary<TKey, TValue> items)
    {
        _items = items;
        _readers = null;
    }

    void ILiveNode.ReplaceContent(object content) => ReplaceContent((Dictionary<TKey, TValue>)content);

    string ILiveNode.LabelOf(ILiveNode child)
    {
        foreach (var (key, value) in _items)
        {
            if (ReferenceEquals(Nodes.Of(value), child) || ReferenceEquals(Nodes.Of(key), child))
                return $"[{Paths.Key(key)}]";
        }
        return "";
    }

    string ILiveNode.Describe(object slot) => Slot.Step(slot, static key => $"[{Paths.Key(key)}]");

    (string Step, bool Present, object? Value) ILiveNode.Inspect(object at)
    {
        if (ReferenceEquals(at, Slot.All))
            return ("", true, _items);
        var key = (TKey)at;
        return _items.TryGetValue(key, out var value) ? ($"[{Paths.Key(key)}]", true, value) : ($"[{Paths.Key(key)}]", false, null);
    }

    bool IObservableNode.HasListeners => CollectionChanged is not null || PropertyChanged is not null;

    void IObservableNode.Notify(PathChangeKind kind, object? at, object? old, object? @new)
    {
        CollectionChanged?.Invoke(this, kind switch
        {
            PathChangeKind.Insert => new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Add, new KeyValuePair<TKey, TValue>((TKey)at!, (TValue)@new!)),
            PathChangeKind.Remove => new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Remove, new KeyValuePair<TKey, TValue>((TKey)at!, (TValue)old!)),
            PathChangeKind.Set => new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Replace, new KeyValuePair<TKey, TValue>((TKey)at!, (TValue)@new!), new KeyValuePair<TKey, TValue>((TKey)at!, (TValue)old!)),
            _ => BindingArgs.Reset,
        });
        if (PropertyChanged is null)
            return;
        if (kind != PathChangeKind.Set)
        {
            PropertyChanged.Invoke(this, BindingArgs.Count);
            PropertyChanged.Invoke(this, BindingArgs.Keys);
        }
        PropertyChanged.Invoke(this, BindingArgs.Values);
        PropertyChanged.Invoke(this, BindingArgs.Indexer);
    }

    Action ILiveNode.ReadOp(OpKind kind, ref GraphReader reader, out OpTarget written)
    {
        switch (kind)
        {
            case OpKind.Set:
            {
                var key = s_keyCodec.Read(ref reader) ?? throw new ToscDataException("A log record sets a null dictionary key.");
                var value = s_valueCodec.Read(ref reader);
                written = OpTarget.Membership(key, PathChangeKind.Set); // the key may be new
                return () =>
                {
                    _items.TryGetValue(key, out var old);
                    WritableItems[key] = value;
                    _header.Owner?.NoteRemoved(old);
                };
            }
            case OpKind.Remove:
            {
                var key = s_keyCodec.Read(ref reader) ?? throw new ToscDataException("A log record removes a null dictionary key.");
                written = OpTarget.Membership(key, PathChangeKind.Remove);
                return () =>
                {
                    if (!_items.ContainsKey(key) || !WritableItems.Remove(key, out var old))
                        throw OpReading.Missing($"the key '{key}'", this);
                    _header.Owner?.NoteRemoved(old);
                };
            }
            case OpKind.Content:
            {
                var count = reader.Msg.ReadMapHeader();
                var items = new Dictionary<TKey, TValue>(Math.Min(count, NodeReading.MaxInitialCapacity));
                for (var i = 0; i < count; i++)
                {
                    var key = s_keyCodec.Read(ref reader) ?? throw new ToscDataException("A log record holds a null dictionary key.");
                    if (!items.TryAdd(key, s_valueCodec.Read(ref reader)))
                        throw new ToscDataException($"A log record holds the dictionary key '{key}' twice.");
                }
                written = OpTarget.Whole with { At = Slot.All };
                return () =>
                {
                    var old = _items;
                    ReplaceContent(items);
                    _header.Owner?.NoteAllRemoved(old.Values);
                };
            }
            default:
                throw OpReading.Unexpected(kind, this);
        }
    }

    private void Set(TKey key, TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
        {
            WritableItems[key] = value;
            return;
        }
        owner.Mutate(this, (key, value), static (dict, arg, work) =>
        {
            var hadOld = dict._items.TryGetValue(arg.key, out var old);
            if (!hadOld)
                MutableKeys.Check(arg.key, element: false);
            var live = s_valueCodec.ToLive(arg.value, work.Owner);
            dict.WritableItems[arg.key] = live;
            work.Record(DictChange<TKey, TValue>.Set(dict, arg.key, live, hadOld, old!));
        });
    }

    private TResult Locked<TResult>(Func<Dictionary<TKey, TValue>, TResult> read)
    {
        var owner = _header.Owner;
        if (owner is null)
            return read(_items);
        lock (owner.Gate)
        {
            owner.NoteRead(this, Slot.All);
            return read(_items);
        }
    }
}
