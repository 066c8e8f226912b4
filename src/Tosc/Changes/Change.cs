using Tosc.Live;

namespace Tosc.Changes;

/// <summary>
/// One recorded mutation of a live node. The log of a transaction undoes them in reverse on rollback;
/// each names its node and position, which is the seam for path-level change feeds and delta commits.
/// </summary>
internal abstract class Change
{
    protected Change(ILiveNode node) => Node = node;

    public ILiveNode Node { get; }

    public abstract void Undo();
}

/// <summary>The mutations of one transaction, however deeply nested its scopes are.</summary>
internal sealed class UnitOfWork
{
    private readonly List<Change> _changes = [];

    public UnitOfWork(Manager owner, long? baseVersion, bool isImplicit)
    {
        Owner = owner;
        BaseVersion = baseVersion;
        IsImplicit = isImplicit;
    }

    public Manager Owner { get; }

    /// <summary>The version the transaction started from; its commit is a compare-and-swap against it.</summary>
    public long? BaseVersion { get; private set; }

    public bool IsImplicit { get; }

    /// <summary>An inner scope ended without commit: the outermost commit must fail.</summary>
    public bool Doomed { get; set; }

    /// <summary>How many scopes are open (1 = only the outermost).</summary>
    public int Depth { get; set; } = 1;

    /// <summary>Set once the outermost scope committed or rolled back.</summary>
    public bool Completed { get; set; }

    public bool HasChanges => _changes.Count > 0;

    public int ChangeCount => _changes.Count;

    /// <summary>The root was first read inside this transaction: it starts from that version.</summary>
    public void Rebase(long? version)
    {
        if (!HasChanges)
            BaseVersion = version;
    }

    public void Record(Change change)
    {
        _changes.Add(change);
        change.Node.Header.Dirty = true;
    }

    /// <summary>Undoes every change, newest first, and clears the dirty marks.</summary>
    public void RollBack()
    {
        for (var i = _changes.Count - 1; i >= 0; i--)
            _changes[i].Undo();
        ClearDirty();
        _changes.Clear();
    }

    public void ClearDirty()
    {
        foreach (var change in _changes)
            change.Node.Header.Dirty = false;
    }

    public void Forget() => _changes.Clear();
}

/// <summary>Undo for DList: set, insert, remove at a position, or the whole content replaced.</summary>
internal sealed class ListChange<T> : Change
{
    private readonly DList<T> _list;
    private readonly Kind _kind;
    private readonly int _index;
    private readonly T _old;
    private readonly List<T>? _oldItems;

    public ListChange(DList<T> list, Kind kind, int index, T old, List<T>? oldItems = null) : base(list)
    {
        _list = list;
        _kind = kind;
        _index = index;
        _old = old;
        _oldItems = oldItems;
    }

    public enum Kind
    {
        Set,
        Insert,
        RemoveAt,
        Replace,
    }

    public override void Undo()
    {
        var items = _list.Items;
        switch (_kind)
        {
            case Kind.Set:
                items[_index] = _old;
                break;
            case Kind.Insert:
                items.RemoveAt(_index);
                break;
            case Kind.RemoveAt:
                items.Insert(_index, _old);
                break;
            case Kind.Replace:
                _list.ReplaceContent(_oldItems!);
                break;
        }
    }
}

/// <summary>Undo for DDict: a key set (with or without a previous value), removed, or the whole content replaced.</summary>
internal sealed class DictChange<TKey, TValue> : Change where TKey : notnull
{
    private readonly DDict<TKey, TValue> _dict;
    private readonly TKey _key;
    private readonly bool _hadOld;
    private readonly TValue _old;
    private readonly Dictionary<TKey, TValue>? _oldItems;

    public DictChange(DDict<TKey, TValue> dict, TKey key, bool hadOld, TValue old, Dictionary<TKey, TValue>? oldItems = null) : base(dict)
    {
        _dict = dict;
        _key = key;
        _hadOld = hadOld;
        _old = old;
        _oldItems = oldItems;
    }

    public override void Undo()
    {
        if (_oldItems is not null)
            _dict.ReplaceContent(_oldItems);
        else if (_hadOld)
            _dict.Items[_key] = _old;
        else
            _dict.Items.Remove(_key);
    }
}

/// <summary>Undo for DSet: an item added, removed, or the whole content replaced.</summary>
internal sealed class SetChange<T> : Change
{
    private readonly DSet<T> _set;
    private readonly T _item;
    private readonly bool _added;
    private readonly HashSet<T>? _oldItems;

    public SetChange(DSet<T> set, T item, bool added, HashSet<T>? oldItems = null) : base(set)
    {
        _set = set;
        _item = item;
        _added = added;
        _oldItems = oldItems;
    }

    public override void Undo()
    {
        if (_oldItems is not null)
            _set.ReplaceContent(_oldItems);
        else if (_added)
            _set.Items.Remove(_item);
        else
            _set.Items.Add(_item);
    }
}

/// <summary>Undo for DByteArray: the bytes overwritten at an offset and the previous length.</summary>
internal sealed class BytesChange : Change
{
    private readonly DByteArray _bytes;
    private readonly int _offset;
    private readonly byte[] _old;
    private readonly int _oldLength;

    public BytesChange(DByteArray bytes, int offset, byte[] old, int oldLength) : base(bytes)
    {
        _bytes = bytes;
        _offset = offset;
        _old = old;
        _oldLength = oldLength;
    }

    public override void Undo() => _bytes.Restore(_offset, _old, _oldLength);
}

/// <summary>Undo for a property of a user object.</summary>
internal sealed class PropertyChange : Change
{
    private readonly ObjectNode _node;
    private readonly int _slot;
    private readonly object? _old;

    public PropertyChange(ObjectNode node, int slot, object? old) : base(node)
    {
        _node = node;
        _slot = slot;
        _old = old;
    }

    public override void Undo() => _node.Slots![_slot] = _old;
}
