using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>Undo and redo for DDict: a key set (with or without a previous value), removed, or the dictionary cleared.</summary>
internal sealed class DictChange<TKey, TValue> : Change where TKey : notnull
{
    private readonly DDict<TKey, TValue> _dict;
    private readonly Kind _kind;
    private readonly TKey _key;
    private readonly TValue _new;
    private bool _hadOld;
    private TValue _old;
    private Dictionary<TKey, TValue>? _oldItems;

    private DictChange(DDict<TKey, TValue> dict, Kind kind, TKey key, TValue @new, bool hadOld, TValue old, Dictionary<TKey, TValue>? oldItems) : base(dict)
    {
        _dict = dict;
        _kind = kind;
        _key = key;
        _new = @new;
        _hadOld = hadOld;
        _old = old;
        _oldItems = oldItems;
    }

    private enum Kind
    {
        Set,
        Remove,
        Clear,
    }

    public static DictChange<TKey, TValue> Set(DDict<TKey, TValue> dict, TKey key, TValue @new, bool hadOld, TValue old) => new(dict, Kind.Set, key, @new, hadOld, old, null);

    public static DictChange<TKey, TValue> Remove(DDict<TKey, TValue> dict, TKey key, TValue old) => new(dict, Kind.Remove, key, default!, true, old, null);

    public static DictChange<TKey, TValue> Clear(DDict<TKey, TValue> dict, Dictionary<TKey, TValue> oldItems) => new(dict, Kind.Clear, default!, default!, false, default!, oldItems);

    public override void Undo()
    {
        if (_kind == Kind.Clear)
            _dict.ReplaceContent(_oldItems!);
        else if (_hadOld)
            _dict.WritableItems[_key] = _old;
        else
            _dict.WritableItems.Remove(_key);
    }

    public override void Redo()
    {
        switch (_kind)
        {
            case Kind.Set:
                _hadOld = _dict.Items.TryGetValue(_key, out _old!);
                _dict.WritableItems[_key] = _new;
                break;
            case Kind.Remove:
                _hadOld = _dict.WritableItems.Remove(_key, out _old!);
                break;
            case Kind.Clear:
                _oldItems = _dict.Items;
                _dict.ReplaceContent([]);
                break;
        }
    }

    public override (object At, PathChangeKind Kind, object? Old, object? New) Describe() => _kind switch
    {
        Kind.Set => (_key, _hadOld ? PathChangeKind.Set : PathChangeKind.Insert, _hadOld ? _old : null, _new),
        Kind.Remove => (_key, PathChangeKind.Remove, _old, null),
        _ => (Conflicts.Slot.All, PathChangeKind.Clear, _oldItems, new Dictionary<TKey, TValue>()),
    };

    public override IEnumerable<object?> Removed() =>
        !Codecs.Get<TValue>().MayHoldNodes ? [] : _kind == Kind.Clear ? _oldItems!.Values.Cast<object?>() : _hadOld ? [_old] : [];

    public override void WriteOp(ref GraphWriter writer)
    {
        var keys = Codecs.Get<TKey>();
        var values = Codecs.Get<TValue>();
        switch (_kind)
        {
            case Kind.Clear:
                WriteTarget(ref writer, OpKind.Content, 1);
                writer.Msg.WriteMapHeader(_dict.Items.Count);
                foreach (var (key, value) in _dict.Items)
                {
                    keys.Write(ref writer, key);
                    values.Write(ref writer, value);
                }
                break;
            case Kind.Set:
                WriteTarget(ref writer, OpKind.Set, 2);
                keys.Write(ref writer, _key);
                values.Write(ref writer, _dict.Items[_key]);
                break;
            case Kind.Remove:
                WriteTarget(ref writer, OpKind.Remove, 1);
                keys.Write(ref writer, _key);
                break;
        }
    }
}
