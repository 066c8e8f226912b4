using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>
/// One recorded mutation of a live node: the one currency of the core. The transaction undoes them in reverse on
/// rollback, and each writes itself as an operation of the log record its commit appends (<see cref="WriteOp"/>).
/// </summary>
internal abstract class Change
{
    protected Change(ILiveNode node) => Node = node;

    public ILiveNode Node { get; }

    public abstract void Undo();

    /// <summary>The values this change took out of the graph (replaced, removed or cleared).</summary>
    public virtual IEnumerable<object?> Removed() => [];

    /// <summary>
    /// Writes the operation <c>[node id, kind, arguments...]</c>. Called right after the mutation, so the values it
    /// writes are the ones of that moment, whatever later operations of the transaction do to them.
    /// </summary>
    public abstract void WriteOp(ref GraphWriter writer);

    protected void WriteTarget(ref GraphWriter writer, OpKind kind, int arguments)
    {
        writer.Msg.WriteArrayHeader(2 + arguments);
        writer.Msg.Write(Node.Header.Id);
        writer.Msg.Write((byte)kind);
    }
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
        owner.ForgetOps(); // a new transaction starts with no operations
    }

    public Manager Owner { get; }

    /// <summary>The version the transaction started from; its commit is a compare-and-swap against it.</summary>
    public long? BaseVersion { get; private set; }

    public bool IsImplicit { get; }

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
        foreach (var removed in change.Removed())
            Owner.NoteRemoved(removed);
        try
        {
            Owner.RecordOp(change);
        }
        catch
        {
            // The change cannot be stored: take it back at once, so nothing is changed only locally.
            change.Undo();
            _changes.RemoveAt(_changes.Count - 1);
            throw;
        }
        change.Node.Header.Dirty = true;
    }

    /// <summary>Undoes every change, newest first, and clears the dirty marks.</summary>
    public void RollBack()
    {
        for (var i = _changes.Count - 1; i >= 0; i--)
            _changes[i].Undo();
        ClearDirty();
        _changes.Clear();
        Owner.ForgetOps();
    }

    /// <summary>Where the transaction stands now: a nested scope undoes back to it when it ends without commit.</summary>
    public Savepoint Mark() => new(_changes.Count, Owner.MarkOps());

    /// <summary>Undoes the changes made since <paramref name="savepoint"/>, newest first; the earlier ones stay.</summary>
    public void RollBackTo(Savepoint savepoint)
    {
        for (var i = _changes.Count - 1; i >= savepoint.Changes; i--)
        {
            _changes[i].Undo();
            _changes[i].Node.Header.Dirty = false;
        }
        _changes.RemoveRange(savepoint.Changes, _changes.Count - savepoint.Changes);
        foreach (var change in _changes)
            change.Node.Header.Dirty = true;
        Owner.TruncateOps(savepoint.Ops);
    }

    public void ClearDirty()
    {
        foreach (var change in _changes)
            change.Node.Header.Dirty = false;
    }

    public void Forget() => _changes.Clear();
}

/// <summary>A point in a transaction to undo back to: how many changes and encoded operations it had.</summary>
internal readonly record struct Savepoint(int Changes, (int Length, int Count, int Written) Ops);

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

    public override IEnumerable<object?> Removed() => !Codecs.Get<T>().MayHoldNodes ? [] : _kind switch
    {
        Kind.Set or Kind.RemoveAt => [_old],
        Kind.Replace => _oldItems!.Cast<object?>(),
        _ => [],
    };

    public override void WriteOp(ref GraphWriter writer)
    {
        var codec = Codecs.Get<T>();
        var items = _list.Items;
        switch (_kind)
        {
            case Kind.Set or Kind.Insert:
                WriteTarget(ref writer, _kind == Kind.Set ? OpKind.Set : OpKind.Insert, 2);
                writer.Msg.Write(_index);
                codec.Write(ref writer, items[_index]);
                break;
            case Kind.RemoveAt:
                WriteTarget(ref writer, OpKind.RemoveAt, 1);
                writer.Msg.Write(_index);
                break;
            case Kind.Replace:
                WriteTarget(ref writer, OpKind.Content, 1);
                writer.Msg.WriteArrayHeader(items.Count);
                foreach (var item in items)
                    codec.Write(ref writer, item);
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

    public override IEnumerable<object?> Removed() =>
        !Codecs.Get<TValue>().MayHoldNodes ? [] : _oldItems is not null ? _oldItems.Values.Cast<object?>() : _hadOld ? [_old] : [];

    public override void WriteOp(ref GraphWriter writer)
    {
        var keys = Codecs.Get<TKey>();
        var values = Codecs.Get<TValue>();
        if (_oldItems is not null)
        {
            WriteTarget(ref writer, OpKind.Content, 1);
            writer.Msg.WriteMapHeader(_dict.Items.Count);
            foreach (var (key, value) in _dict.Items)
            {
                keys.Write(ref writer, key);
                values.Write(ref writer, value);
            }
        }
        else if (_dict.Items.TryGetValue(_key, out var current))
        {
            WriteTarget(ref writer, OpKind.Set, 2);
            keys.Write(ref writer, _key);
            values.Write(ref writer, current);
        }
        else
        {
            WriteTarget(ref writer, OpKind.Remove, 1);
            keys.Write(ref writer, _key);
        }
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

    public override IEnumerable<object?> Removed() =>
        !Codecs.Get<T>().MayHoldNodes ? [] : _oldItems is not null ? _oldItems.Cast<object?>() : _added ? [] : [_item];

    public override void WriteOp(ref GraphWriter writer)
    {
        var codec = Codecs.Get<T>();
        if (_oldItems is not null)
        {
            WriteTarget(ref writer, OpKind.Content, 1);
            writer.Msg.WriteArrayHeader(_set.Items.Count);
            foreach (var item in _set.Items)
                codec.Write(ref writer, item);
            return;
        }
        WriteTarget(ref writer, _added ? OpKind.Add : OpKind.Remove, 1);
        codec.Write(ref writer, _item);
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

    public override void WriteOp(ref GraphWriter writer)
    {
        // A byte array is one value to its readers: its content after the write, whole.
        WriteTarget(ref writer, OpKind.Content, 1);
        writer.Msg.WriteBinary(_bytes.AsSpan());
    }
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

    public override IEnumerable<object?> Removed() => _node.Model.Properties[_slot].Codec.MayHoldNodes ? [_old] : [];

    public override void WriteOp(ref GraphWriter writer)
    {
        var property = _node.Model.Properties[_slot];
        WriteTarget(ref writer, OpKind.Set, 2);
        writer.Msg.WriteString(property.NameBytes);
        property.Codec.WriteBoxed(ref writer, _node.Slots![_slot]);
    }
}
