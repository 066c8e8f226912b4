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
/// A live set. Read from a manager, every change is recorded: inside a transaction it is buffered,
/// outside one it commits at once. Created with <c>new</c>, it is a plain set until it is stored.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
[DebuggerDisplay("Count = {Count}")]
public sealed class DSet<T> : ISet<T>, IReadOnlySet<T>, ILiveNode, IObservableNode, INotifyCollectionChanged, INotifyPropertyChanged
{
    private static readonly ValueCodec<T> s_codec = Codecs.Get<T>();
    private readonly NodeHeader _header;
    private HashSet<T> _items;
    private Readers? _readers; // made by the first enumeration: most collections are never enumerated while they change

    /// <summary>Creates an empty set, not yet stored.</summary>
    public DSet() : this([], new NodeHeader()) { }

    /// <summary>Creates a set holding <paramref name="items"/>, not yet stored.</summary>
    public DSet(IEnumerable<T> items) : this([.. items], new NodeHeader()) { }

    internal DSet(HashSet<T> items, NodeHeader header)
    {
        _items = items;
        _header = header;
    }

    /// <summary>
    /// Raised once per change applied to the set (index -1): another manager's when it is applied here, this manager's
    /// when its transaction commits. On <see cref="ManagerOptions.SynchronizationContext"/> when one is set, else on
    /// the thread that applied it.
    /// </summary>
    public event NotifyCollectionChangedEventHandler? CollectionChanged;

    /// <summary>Raised with <c>Count</c> alongside <see cref="CollectionChanged"/>.</summary>
    public event PropertyChangedEventHandler? PropertyChanged;

    /// <inheritdoc cref="ICollection{T}.Count"/>
    public int Count => Read(static (items, _) => items.Count, 0, Slot.Count);

    bool ICollection<T>.IsReadOnly => false;

    NodeHeader ILiveNode.Header => _header;

    object ILiveNode.Instance => this;

    internal HashSet<T> Items => _items;

    /// <summary>The content to change in place: a copy when an enumeration runs over the current one. Callers hold the gate.</summary>
    internal HashSet<T> WritableItems => Readers.Writable(ref _items, ref _readers, SharedEmpty, static items => new HashSet<T>(items, items.Comparer));

    /// <summary>
    /// The content every empty set read from a store starts with (most stay empty): never changed, since every change
    /// goes through <see cref="WritableItems"/>, which gives the set content of its own first.
    /// </summary>
    internal static HashSet<T> SharedEmpty { get; } = [];

    /// <inheritdoc cref="ISet{T}.Add"/>
    public bool Add(T item)
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
            return WritableItems.Add(item);
        return owner.Mutate(this, item, static (set, item, work) =>
        {
            if (!set._items.Contains(item))
                MutableKeys.Check(item, element: true);
            var live = s_codec.ToLive(item, work.Owner);
            if (live is not null)
                work.NoteRead(set, live); // whether it was there: the result says
            if (set._items.Contains(live) || !set.WritableItems.Add(live))
                return false;
            work.Record(SetChange<T>.Add(set, live));
            return true;
        });
    }

    void ICollection<T>.Add(T item) => Add(item);

    /// <inheritdoc/>
    public bool Remove(T item)
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
            return WritableItems.Remove(item);
        return owner.Mutate(this, item, static (set, item, work) =>
        {
            if (item is not null)
                work.NoteRead(set, item);
            if (!set._items.Contains(item) || !set.WritableItems.Remove(item))
                return false;
            work.Record(SetChange<T>.Remove(set, item));
            return true;
        });
    }

    /// <inheritdoc/>
    public void Clear() => Rebuild(static (_, _) => [], readsContent: false);

    /// <inheritdoc/>
    public bool Contains(T item) => Read(static (items, item) => items.Contains(item), item, (object?)item ?? Slot.All);

    /// <inheritdoc/>
    public void CopyTo(T[] array, int arrayIndex) => Read(static (items, arg) => { items.CopyTo(arg.array, arg.arrayIndex); return 0; }, (array, arrayIndex), Slot.All);

    /// <inheritdoc/>
    public void UnionWith(IEnumerable<T> other) => Rebuild(static (items, other) => { var next = new HashSet<T>(items); next.UnionWith(other); return next; }, Materialize(other));

    /// <inheritdoc/>
    public void IntersectWith(IEnumerable<T> other) => Rebuild(static (items, other) => { var next = new HashSet<T>(items); next.IntersectWith(other); return next; }, Materialize(other));

    /// <inheritdoc/>
    public void ExceptWith(IEnumerable<T> other) => Rebuild(static (items, other) => { var next = new HashSet<T>(items); next.ExceptWith(other); return next; }, Materialize(other));

    /// <inheritdoc/>
    public void SymmetricExceptWith(IEnumerable<T> other) => Rebuild(static (items, other) => { var next = new HashSet<T>(items); next.SymmetricExceptWith(other); return next; }, Materialize(other));

    /// <inheritdoc/>
    public bool IsSubsetOf(IEnumerable<T> other) => Read(static (items, other) => items.IsSubsetOf(other), Materialize(other), Slot.All);

    /// <inheritdoc/>
    public bool IsSupersetOf(IEnumerable<T> other) => Read(static (items, other) => items.IsSupersetOf(other), Materialize(other), Slot.All);

    /// <inheritdoc/>
    public bool IsProperSubsetOf(IEnumerable<T> other) => Read(static (items, other) => items.IsProperSubsetOf(other), Materialize(other), Slot.All);

    /// <inheritdoc/>
    public bool IsProperSupersetOf(IEnumerable<T> other) => Read(static (items, other) => items.IsProperSupersetOf(other), Materialize(other), Slot.All);

    /// <inheritdoc/>
    public bool Overlaps(IEnumerable<T> other) => Read(static (items, other) => items.Overlaps(other), Materialize(other), Slot.All);

    /// <inheritdoc/>
    public bool SetEquals(IEnumerable<T> other) => Read(static (items, other) => items.SetEquals(other), Materialize(other), Slot.All);

    /// <summary>
    /// Enumerates the items as they are when the enumeration starts: a change made meanwhile (by another thread's
    /// transaction, the watcher, or this thread) goes to a copy, so the enumeration never throws because of it and
    /// never sees a change half made.
    /// </summary>
    public LiveEnumerator<T, HashSet<T>.Enumerator> GetEnumerator()
    {
        var (items, readers) = Readers.Enumerate(this, static node => (node._items, node._readers ??= new()));
        return new(items.GetEnumerator(), readers);
    }

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    void ILiveNode.PushChildren(Stack<ILiveNode> pending)
    {
        if (!s_codec.MayHoldNodes)
            return;
        foreach (var item in _items)
            Nodes.Push(pending, item);
    }

    /// <summary>Swaps in new content; enumerations of the old one finish over it. Callers hold the gate.</summary>
    internal void ReplaceContent(HashSet<T> items)
    {
        _items = items;
        _readers = null;
    }

    void ILiveNode.ReplaceContent(object content) => ReplaceContent((HashSet<T>)content);

    string ILiveNode.LabelOf(ILiveNode child) => $"{{{Paths.Key(child.Instance)}}}";

    string ILiveNode.Describe(object slot) => Slot.Step(slot, static element => $"{{{Paths.Key(element)}}}");

    (string Step, bool Present, object? Value) ILiveNode.Inspect(object at) =>
        ReferenceEquals(at, Slot.All) ? ("", true, _items) : ($"{{{Paths.Key(at)}}}", _items.Contains((T)at), at);

    bool IObservableNode.HasListeners => CollectionChanged is not null || PropertyChanged is not null;

    void IObservableNode.Notify(PathChangeKind kind, object? at, object? old, object? @new)
    {
        CollectionChanged?.Invoke(this, kind switch
        {
            PathChangeKind.Insert => new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Add, @new),
            PathChangeKind.Remove => new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Remove, old),
            _ => BindingArgs.Reset,
        });
        PropertyChanged?.Invoke(this, BindingArgs.Count);
    }

    Action ILiveNode.ReadOp(OpKind kind, ref GraphReader reader, out OpTarget written)
    {
        switch (kind)
        {
            case OpKind.Add:
            {
                var item = s_codec.Read(ref reader);
                written = item is null ? OpTarget.Whole with { At = Slot.All } : OpTarget.Membership(item, PathChangeKind.Insert);
                return () => WritableItems.Add(item);
            }
            case OpKind.Remove:
            {
                var item = s_codec.Read(ref reader);
                written = item is null ? OpTarget.Whole with { At = Slot.All } : OpTarget.Membership(item, PathChangeKind.Remove);
                return () =>
                {
                    if (!_items.Contains(item) || !WritableItems.Remove(item))
                        throw OpReading.Missing($"the element '{item}'", this);
                    _header.Owner?.NoteRemoved(item);
                };
            }
            case OpKind.Content:
            {
                var count = reader.Msg.ReadArrayHeader();
                var items = new HashSet<T>(Math.Min(count, NodeReading.MaxInitialCapacity));
                for (var i = 0; i < count; i++)
                {
                    if (!items.Add(s_codec.Read(ref reader)))
                        throw new ToscDataException("A log record holds a set element twice.");
                }
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

    // Materialized first, so enumerating the argument (possibly this set) happens outside the lock.
    private static List<T> Materialize(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return [.. other];
    }

    private TResult Read<TArg, TResult>(Func<HashSet<T>, TArg, TResult> read, TArg arg, object slot)
    {
        var owner = _header.Owner;
        if (owner is null)
            return read(_items, arg);
        lock (owner.Gate)
        {
            owner.NoteRead(this, slot);
            return read(_items, arg);
        }
    }

    private void Rebuild(Func<HashSet<T>, List<T>, HashSet<T>> rebuild, List<T>? other = null, bool readsContent = true)
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
        {
            _items = rebuild(_items, other ?? []);
            return;
        }
        owner.Mutate(this, (rebuild, other ?? [], readsContent), static (set, arg, work) =>
        {
            if (arg.readsContent)
                work.NoteRead(set, Slot.All);
            var next = arg.rebuild(set._items, arg.Item2);
            if (next.SetEquals(set._items))
            {
                work.NoteRead(set, Slot.Count); // nothing changes: that depends on the content seen (a clear: on the count)
                return;
            }
            var live = new HashSet<T>(next.Count);
            foreach (var item in next)
            {
                if (!set._items.Contains(item))
                    MutableKeys.Check(item, element: true);
                live.Add(s_codec.ToLive(item, work.Owner));
            }
            var old = set._items;
            set.ReplaceContent(live);
            work.Record(SetChange<T>.Replace(set, old, live));
        });
    }
}
