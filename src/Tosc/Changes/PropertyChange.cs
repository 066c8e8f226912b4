using MessagePack;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc.Changes;

/// <summary>Undo and redo for a property of a user object.</summary>
internal sealed class PropertyChange : Change
{
    private readonly ObjectNode _node;
    private readonly int _slot;
    private readonly object? _new;
    private object? _old;

    public PropertyChange(ObjectNode node, int slot, object? old, object? @new) : base(node)
    {
        _node = node;
        _slot = slot;
        _old = old;
        _new = @new;
    }

    public override void Undo() => _node.Put(_slot, _old);

    public override void Redo()
    {
        _old = _node.Get(_slot);
        _node.Put(_slot, _new);
    }

    public override (object At, PathChangeKind Kind, object? Old, object? New) Describe() =>
        (_node.Model.Properties[_slot].Name, PathChangeKind.Set, _old, _new);

    public override IEnumerable<object?> Removed() => _node.Model.Properties[_slot].Codec.MayHoldNodes ? [_old] : [];

    public override void WriteOp(ref GraphWriter writer)
    {
        var property = _node.Model.Properties[_slot];
        WriteTarget(ref writer, OpKind.Set, 2);
        writer.Msg.WriteString(property.NameBytes);
        property.Codec.WriteBoxed(ref writer, _node.Get(_slot));
    }
}
