using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

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
