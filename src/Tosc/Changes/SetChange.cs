using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>Undo and redo for DSet: an element added, removed, or the whole content replaced.</summary>
internal sealed class SetChange<T> : Change
{
    private readonly DSet<T> _set;
    private readonly T _item;
    private readonly bool _added;
    private readonly HashSet<T>? _newItems;
    private HashSet<T>? _oldItems;

    private SetChange(DSet<T> set, T item, bool added, HashSet<T>? oldItems, HashSet<T>? newItems) : base(set)
    {
        _set = set;
        _item = item;
        _added = added;
        _oldItems = oldItems;
        _newItems = newItems;
    }

    public static SetChange<T> Add(DSet<T> set, T item) => new(set, item, added: true, null, null);

    public static SetChange<T> Remove(DSet<T> set, T item) => new(set, item, added: false, null, null);

    /// <summary>The content replaced whole by <paramref name="newItems"/> (a set operation, or a clear).</summary>
    public static SetChange<T> Replace(DSet<T> set, HashSet<T> oldItems, HashSet<T> newItems) => new(set, default!, added: false, oldItems, newItems);

    public override void Undo()
    {
        if (_newItems is not null)
            _set.ReplaceContent(_oldItems!);
        else if (_added)
            _set.WritableItems.Remove(_item);
        else
            _set.WritableItems.Add(_item);
    }

    public override void Redo()
    {
        if (_newItems is not null)
        {
            // Only a clear is replayed on a content changed elsewhere; a set operation read the whole set.
            _oldItems = _set.Items;
            _set.ReplaceContent(_newItems.Count == 0 ? [] : [.. _newItems]);
        }
        else if (_added)
            _set.WritableItems.Add(_item);
        else
            _set.WritableItems.Remove(_item);
    }

    public override (object At, PathChangeKind Kind, object? Old, object? New) Describe() =>
        _newItems is not null
            ? (Conflicts.Slot.All, _newItems.Count == 0 ? PathChangeKind.Clear : PathChangeKind.Replace, _oldItems, _newItems)
            : (_item!, _added ? PathChangeKind.Insert : PathChangeKind.Remove, _added ? null : _item, _added ? _item : null);

    public override IEnumerable<object?> Removed() =>
        !Codecs.Get<T>().MayHoldNodes ? [] : _newItems is not null ? _oldItems!.Except(_newItems).Cast<object?>() : _added ? [] : [_item];

    public override void WriteOp(ref GraphWriter writer)
    {
        var codec = Codecs.Get<T>();
        if (_newItems is not null)
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
