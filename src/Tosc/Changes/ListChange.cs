using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>Undo and redo for DList: set, insert, append or remove at a position, cleared, or a range appended.</summary>
internal sealed class ListChange<T> : Change
{
    private readonly DList<T> _list;
    private readonly Kind _kind;
    private readonly T _new;
    private readonly List<T>? _added;
    private int _index;
    private T _old;
    private List<T>? _oldItems;

    private ListChange(DList<T> list, Kind kind, int index, T old, T @new, List<T>? oldItems, List<T>? added) : base(list)
    {
        _list = list;
        _kind = kind;
        _index = index;
        _old = old;
        _new = @new;
        _oldItems = oldItems;
        _added = added;
    }

    private enum Kind
    {
        Set,
        Insert,
        Append,
        RemoveAt,
        Clear,
        AppendRange,
    }

    public static ListChange<T> Set(DList<T> list, int index, T old, T @new) => new(list, Kind.Set, index, old, @new, null, null);

    public static ListChange<T> Insert(DList<T> list, int index, T @new) => new(list, Kind.Insert, index, default!, @new, null, null);

    /// <summary>An insert at the end: replayed on a newer state it goes to that state's end.</summary>
    public static ListChange<T> Append(DList<T> list, int index, T @new) => new(list, Kind.Append, index, default!, @new, null, null);

    public static ListChange<T> RemoveAt(DList<T> list, int index, T old) => new(list, Kind.RemoveAt, index, old, default!, null, null);

    public static ListChange<T> Clear(DList<T> list, List<T> oldItems) => new(list, Kind.Clear, 0, default!, default!, oldItems, null);

    public static ListChange<T> AppendRange(DList<T> list, List<T> oldItems, List<T> added) => new(list, Kind.AppendRange, 0, default!, default!, oldItems, added);

    public override void Undo()
    {
        var items = _list.WritableItems;
        switch (_kind)
        {
            case Kind.Set:
                items[_index] = _old;
                break;
            case Kind.Insert or Kind.Append:
                items.RemoveAt(_index);
                break;
            case Kind.RemoveAt:
                items.Insert(_index, _old);
                break;
            case Kind.Clear or Kind.AppendRange:
                _list.ReplaceContent(_oldItems!);
                break;
        }
    }

    public override void Redo()
    {
        var items = _list.WritableItems;
        switch (_kind)
        {
            case Kind.Set:
                _old = items[_index];
                items[_index] = _new;
                break;
            case Kind.Insert:
                items.Insert(_index, _new);
                break;
            case Kind.Append:
                _index = items.Count;
                items.Add(_new);
                break;
            case Kind.RemoveAt:
                _old = items[_index];
                items.RemoveAt(_index);
                break;
            case Kind.Clear:
                _oldItems = items;
                _list.ReplaceContent([]);
                break;
            case Kind.AppendRange:
                _oldItems = items;
                _list.ReplaceContent([.. items, .. _added!]);
                break;
        }
    }

    public override (object At, PathChangeKind Kind, object? Old, object? New) Describe() => _kind switch
    {
        Kind.Set => (_index, PathChangeKind.Set, _old, _new),
        Kind.Insert or Kind.Append => (_index, PathChangeKind.Insert, null, _new),
        Kind.RemoveAt => (_index, PathChangeKind.Remove, _old, null),
        Kind.Clear => (Conflicts.Slot.All, PathChangeKind.Clear, _oldItems, new List<T>()),
        _ => (Conflicts.Slot.All, PathChangeKind.Replace, _oldItems, _list.Items),
    };

    public override Conflicts.OpTarget Written => _kind switch
    {
        Kind.Set => new(_index),
        Kind.Insert or Kind.RemoveAt => new(Conflicts.Slot.Positions),
        Kind.Append => new(Conflicts.Slot.Count),
        _ => Conflicts.OpTarget.Whole,
    };

    public override IEnumerable<object?> Removed() => !Codecs.Get<T>().MayHoldNodes ? [] : _kind switch
    {
        Kind.Set or Kind.RemoveAt => [_old],
        Kind.Clear => _oldItems!.Cast<object?>(),
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
            case Kind.Append:
                WriteTarget(ref writer, OpKind.Append, 1);
                codec.Write(ref writer, items[_index]);
                break;
            case Kind.RemoveAt:
                WriteTarget(ref writer, OpKind.RemoveAt, 1);
                writer.Msg.Write(_index);
                break;
            case Kind.Clear or Kind.AppendRange:
                WriteTarget(ref writer, OpKind.Content, 1);
                writer.Msg.WriteArrayHeader(items.Count);
                foreach (var item in items)
                    codec.Write(ref writer, item);
                break;
        }
    }
}
