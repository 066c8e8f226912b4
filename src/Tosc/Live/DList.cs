using System.Collections;
using System.Collections.Specialized;
using System.ComponentModel;
using Tosc.Feed;
using System.Diagnostics;
using Tosc.Changes;
using Tosc.Conflicts;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc;

/// <summary>
/// A live list. Read from a manager, every change is recorded: inside a transaction it is buffered,
/// outside one it commits at once. Created with <c>new</c>, it is a plain list until it is stored.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
[DebuggerDisplay("Count = {Count}")]
public sealed class DList<T> : IList<T>, IReadOnlyList<T>, ILiveNode, IObservableNode, INotifyCollectionChanged, INotifyPropertyChanged
{
    private static readonly ValueCodec<T> s_codec = Codecs.Get<T>();
    private readonly NodeHeader _header;
    private List<T> _items;
    private Readers? _readers; // made by the first enumeration: most collections are never enumerated while they change

    /// <summary>Creates an empty list, not yet stored.</summary>
    public DList() : this([], new NodeHeader()) { }

    /// <summary>Creates a list holding <paramref name="items"/>, not yet stored.</summary>
    public DList(IEnumerable<T> items) : this([.. items], new NodeHeader()) { }

    internal DList(List<T> items, NodeHeader header)
    {
        _items = items;
        _header = header;
    }

    /// <summary>
    /// Raised once per change applied to the list: another manager's when it is applied here, this manager's when
    /// its transaction commits (never for a change rolled back), with the indexes as they were at that change. On
    /// <see cref="ManagerOptions.SynchronizationContext"/> when one is set, else on the thread that applied it.
    /// </summary>
    public event NotifyCollectionChangedEventHandler? CollectionChanged;

    /// <summary>Raised with <c>Count</c> and <c>Item[]</c> alongside <see cref="CollectionChanged"/>.</summary>
    public event PropertyChangedEventHandler? PropertyChanged;

    /// <inheritdoc/>
    public int Count
    {
        get
        {
            // Outside transactions a read needs no gate: the list is changed in place one element at a time, or replaced whole.
            var owner = _header.Owner;
            if (!Manager.AnyTracksReads || owner is not { TracksReads: true })
                return _items.Count;
            lock (owner.Gate)
            {
                owner.NoteRead(this, Slot.Count);
                return _items.Count;
            }
        }
    }

    bool ICollection<T>.IsReadOnly => false;

    NodeHeader ILiveNode.Header => _header;

    object ILiveNode.Instance => this;

    internal List<T> Items => _items;

    /// <summary>The content to change in place: a copy when an enumeration runs over the current one. Callers hold the gate.</summary>
    internal List<T> WritableItems => Readers.Writable(ref _items, ref _readers, SharedEmpty, static items => new List<T>(items));

    /// <summary>
    /// The content every empty list read from a store starts with (most stay empty): never changed, since every change
    /// goes through <see cref="WritableItems"/>, which gives the list content of its own first.
    /// </summary>
    internal static List<T> SharedEmpty { get; } = [];

    /// <inheritdoc cref="IList{T}.this"/>
    public T this[int index]
    {
        get
        {
            var owner = _header.Owner;
            if (!Manager.AnyTracksReads || owner is not { TracksReads: true })
                return _items[index];
            lock (owner.Gate)
            {
                owner.NoteRead(this, Slot.Positions, index);
                return _items[index];
            }
        }
        set
        {
            var owner = _header.OwnerForWrite(this);
            if (owner is null)
            {
                WritableItems[index] = value;
                return;
            }
            owner.Mutate(this, (index, value), static (list, arg, work) =>
            {
                work.NoteRead(list, Slot.Positions); // which element the index names
                var old = list._items[arg.index];
                var live = s_codec.ToLive(arg.value, work.Owner);
                list.WritableItems[arg.index] = live;
                work.Record(ListChange<T>.Set(list, arg.index, old, live));
            });
        }
    }

    /// <inheritdoc/>
    /// <remarks>An append reads nothing: appends made elsewhere meanwhile never make it conflict.</remarks>
    public void Add(T item)
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
        {
            WritableItems.Add(item);
            return;
        }
        owner.Mutate(this, item, static (list, item, work) =>
        {
            var live = s_codec.ToLive(item, work.Owner);
            list.WritableItems.Add(live);
            work.Record(ListChange<T>.Append(list, list._items.Count - 1, live));
        });
    }

    /// <summary>Adds every item, as one change.</summary>
    public void AddRange(IEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
        {
            WritableItems.AddRange(items);
            return;
        }
        owner.Mutate(this, items.ToList(), static (list, added, work) =>
        {
            var old = list._items;
            var live = added.ConvertAll(item => s_codec.ToLive(item, work.Owner));
            list.ReplaceContent([.. old, .. live]);
            work.Record(ListChange<T>.AppendRange(list, old, live));
        });
    }

    /// <inheritdoc/>
    public void Insert(int index, T item)
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
        {
            WritableItems.Insert(index, item);
            return;
        }
        owner.Mutate(this, (index, item), static (list, arg, work) =>
        {
            work.NoteRead(list, Slot.Positions);
            var live = s_codec.ToLive(arg.item, work.Owner);
            list.WritableItems.Insert(arg.index, live);
            work.Record(ListChange<T>.Insert(list, arg.index, live));
        });
    }

    /// <inheritdoc/>
    public void RemoveAt(int index)
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
        {
            WritableItems.RemoveAt(index);
            return;
        }
        owner.Mutate(this, index, static (list, at, work) =>
        {
            work.NoteRead(list, Slot.Positions);
            var old = list._items[at];
            list.WritableItems.RemoveAt(at);
            work.Record(ListChange<T>.RemoveAt(list, at, old));
        });
    }

    /// <inheritdoc/>
    public bool Remove(T item)
    {
        var index = IndexOf(item);
        if (index < 0)
            return false;
        RemoveAt(index);
        return true;
    }

    /// <inheritdoc/>
    public void Clear()
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
        {
            WritableItems.Clear();
            return;
        }
        owner.Mutate(this, 0, static (list, _, work) =>
        {
            if (list._items.Count == 0)
            {
                work.NoteRead(list, Slot.Count); // nothing to clear: that depends on the count seen
                return;
            }
            var old = list._items;
            list.ReplaceContent([]);
            work.Record(ListChange<T>.Clear(list, old));
        });
    }

    /// <inheritdoc/>
    public int IndexOf(T item)
    {
        var owner = _header.Owner;
        if (owner is null)
            return _items.IndexOf(item);
        lock (owner.Gate)
        {
            owner.NoteRead(this, Slot.All);
            return _items.IndexOf(item);
        }
    }

    /// <inheritdoc/>
    public bool Contains(T item) => IndexOf(item) >= 0;

    /// <inheritdoc/>
    public void CopyTo(T[] array, int arrayIndex)
    {
        var owner = _header.Owner;
        if (owner is null)
        {
            _items.CopyTo(array, arrayIndex);
            return;
        }
        lock (owner.Gate)
        {
            owner.NoteRead(this, Slot.All);
            _items.CopyTo(array, arrayIndex);
        }
    }

    /// <summary>
    /// Enumerates the items as they are when the enumeration starts: a change made meanwhile (by another thread's
    /// transaction, the watcher, or this thread) goes to a copy, so the enumeration never throws because of it and
    /// never sees a change half made.
    /// </summary>
    public LiveEnumerator<T, List<T>.Enumerator> GetEnumerator()
    {
        var (items, readers) = Readers.Enumerate(this, static node => (node._items, node._readers ??= new()));
        return new(items.GetEnumerator(), readers);
    }

    // Through the interfaces (IList<T>, LINQ) the enumerator is boxed anyway: a small class walking the list by index
    // costs a few instructions an item, where the boxed struct around List's own enumerator cost several times that.
    IEnumerator<T> IEnumerable<T>.GetEnumerator()
    {
        var (items, readers) = Readers.Enumerate(this, static node => (node._items, node._readers ??= new()));
        return new ItemEnumerator(items, readers);
    }

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<T>)this).GetEnumerator();

    /// <summary>Enumerates one content of the list (which changes only by being copied while this runs), by index.</summary>
    private sealed class ItemEnumerator(List<T> items, Readers? readers) : IEnumerator<T>
    {
        private Readers? _readers = readers;
        private int _index = -1;
        private T _current = default!;

        public T Current => _current;

        object? IEnumerator.Current => _current;

        public bool MoveNext()
        {
            if (_index + 1 >= items.Count)
            {
                _current = default!;
                return false;
            }
            _current = items[++_index];
            return true;
        }

        public void Dispose()
        {
            _readers?.Leave();
            _readers = null;
        }

        public void Reset() => throw new NotSupportedException("A live collection's enumeration cannot be reset; enumerate it again.");
    }

    void ILiveNode.PushChildren(Stack<ILiveNode> pending)
    {
        if (!s_codec.MayHoldNodes)
            return;
        foreach (var item in _items)
            Nodes.Push(pending, item);
    }

    /// <summary>Swaps in new content; enumerations of the old one finish over it. Callers hold the gate.</summary>
    internal void ReplaceContent(List<T> items)
    {
        _items = items;
        _readers = null;
    }

    void ILiveNode.ReplaceContent(object content) => ReplaceContent((List<T>)content);

    string ILiveNode.LabelOf(ILiveNode child) =>
        $"[{_items.FindIndex(item => ReferenceEquals(Nodes.Of(item), child)).ToString(System.Globalization.CultureInfo.InvariantCulture)}]";

    string ILiveNode.Describe(object slot) => Slot.Step(slot, static index => $"[{Paths.Key(index)}]");

    (string Step, bool Present, object? Value) ILiveNode.Inspect(object at)
    {
        if (ReferenceEquals(at, Slot.All))
            return ("", true, _items);
        var index = ReferenceEquals(at, Slot.Count) ? _items.Count - 1 : (int)at;
        var step = $"[{index.ToString(System.Globalization.CultureInfo.InvariantCulture)}]";
        return (uint)index < (uint)_items.Count ? (step, true, _items[index]) : (step, false, null);
    }

    bool IObservableNode.HasListeners => CollectionChanged is not null || PropertyChanged is not null;

    void IObservableNode.Notify(PathChangeKind kind, object? at, object? old, object? @new)
    {
        var index = at as int? ?? -1;
        CollectionChanged?.Invoke(this, kind switch
        {
            PathChangeKind.Insert => new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Add, @new, index),
            PathChangeKind.Remove => new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Remove, old, index),
            PathChangeKind.Set => new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Replace, @new, old, index),
            _ => BindingArgs.Reset,
        });
        if (kind != PathChangeKind.Set)
            PropertyChanged?.Invoke(this, BindingArgs.Count);
        PropertyChanged?.Invoke(this, BindingArgs.Indexer);
    }

    Action ILiveNode.ReadOp(OpKind kind, ref GraphReader reader, out OpTarget written)
    {
        switch (kind)
        {
            case OpKind.Set:
            {
                var index = reader.Msg.ReadInt32();
                var value = s_codec.Read(ref reader);
                written = new OpTarget(index) { At = index };
                return () =>
                {
                    OpReading.CheckIndex(index, _items.Count, inclusiveEnd: false, this);
                    var old = _items[index];
                    WritableItems[index] = value;
                    _header.Owner?.NoteRemoved(old);
                };
            }
            case OpKind.Insert:
            {
                var index = reader.Msg.ReadInt32();
                var value = s_codec.Read(ref reader);
                written = new OpTarget(Slot.Positions) { Change = PathChangeKind.Insert, At = index };
                return () =>
                {
                    OpReading.CheckIndex(index, _items.Count, inclusiveEnd: true, this);
                    WritableItems.Insert(index, value);
                };
            }
            case OpKind.Append:
            {
                var value = s_codec.Read(ref reader);
                written = new OpTarget(Slot.Count) { Change = PathChangeKind.Insert, At = Slot.Count };
                return () => WritableItems.Add(value);
            }
            case OpKind.RemoveAt:
            {
                var index = reader.Msg.ReadInt32();
                written = new OpTarget(Slot.Positions) { Change = PathChangeKind.Remove, At = index };
                return () =>
                {
                    OpReading.CheckIndex(index, _items.Count, inclusiveEnd: false, this);
                    var old = _items[index];
                    WritableItems.RemoveAt(index);
                    _header.Owner?.NoteRemoved(old);
                };
            }
            case OpKind.Content:
            {
                var count = reader.Msg.ReadArrayHeader();
                var items = new List<T>(Math.Min(count, NodeReading.MaxInitialCapacity));
                for (var i = 0; i < count; i++)
                    items.Add(s_codec.Read(ref reader));
                written = OpTarget.Whole with { At = Slot.All };
                return () =>
                {
                    var old = _items;
                    ReplaceContent(items);
                    _header.Owner?.NoteAllRemoved(old);
                };
            }
            default:
                throw OpReading.Unexpected(kind, this);
        }
    }
}
