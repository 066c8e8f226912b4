using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

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
