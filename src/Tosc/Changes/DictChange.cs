using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

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
