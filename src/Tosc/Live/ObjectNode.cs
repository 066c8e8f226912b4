using Tosc.Changes;
using Tosc.Conflicts;
using Tosc.Serialization;

namespace Tosc.Live;

/// <summary>
/// The state of one live user object: its proxy's stored properties read and write <see cref="Slots"/> (see
/// <see cref="LiveProxies"/>); every write is recorded. Until <see cref="Slots"/> is set (while the class's constructor
/// runs) accessors fall through to the base class.
/// </summary>
internal sealed class ObjectNode : ILiveNode, Feed.IObservableNode
{
    private System.ComponentModel.PropertyChangedEventHandler? _propertyChanged;

    public ObjectNode(ObjectModel model, NodeHeader header)
    {
        Model = model;
        Header = header;
    }

    public ObjectModel Model { get; }

    public NodeHeader Header { get; }

    public object?[]? Slots { get; set; }

    /// <summary>
    /// Stored members this version of the class does not know (written by a newer or older version), as encoded: they
    /// are written back unchanged, so two versions of an application can share a store.
    /// </summary>
    public UnknownMember[]? Unknown { get; set; }

    public object Instance { get; set; } = null!;

    /// <summary>What <see cref="Read"/> returns while the class's constructor runs: the getter then reads the base class.</summary>
    public static readonly object Constructing = new();

    /// <summary>A stored property's getter: the slot's value, noted as read when a transaction runs.</summary>
    public object? Read(int slot)
    {
        // Outside transactions a read is one array load (a slot is replaced whole, never torn), small enough to inline.
        var slots = Slots;
        if (slots is null || Manager.AnyTracksReads)
            return ReadNoted(slot);
        return slots[slot];
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private object? ReadNoted(int slot)
    {
        if (Slots is null)
            return Constructing;
        if (Header.Owner is not { TracksReads: true } owner)
            return Slots[slot];
        lock (owner.Gate)
        {
            owner.NoteRead(this, Model.Properties[slot].Name);
            return Slots![slot];
        }
    }

    /// <summary>A stored property's setter: records the change. <see langword="false"/> while the class's constructor runs.</summary>
    public bool TryWrite(int slot, object? value)
    {
        if (Slots is null)
            return false;
        Set(slot, value);
        return true;
    }

    /// <summary>The proxy's <c>INotifyPropertyChanged.PropertyChanged</c> add accessor.</summary>
    public void Subscribe(System.ComponentModel.PropertyChangedEventHandler? handler)
    {
        lock (this)
            _propertyChanged += handler;
    }

    /// <summary>The proxy's <c>INotifyPropertyChanged.PropertyChanged</c> remove accessor.</summary>
    public void Unsubscribe(System.ComponentModel.PropertyChangedEventHandler? handler)
    {
        lock (this)
            _propertyChanged -= handler;
    }

    public bool HasListeners => _propertyChanged is not null;

    public void Notify(PathChangeKind kind, object? at, object? old, object? @new) =>
        _propertyChanged?.Invoke(Instance, at is string name ? new System.ComponentModel.PropertyChangedEventArgs(name) : Feed.BindingArgs.Everything);

    public void PushChildren(Stack<ILiveNode> pending)
    {
        var slots = Slots;
        if (slots is null)
            return;
        foreach (var value in slots)
        {
            if (Nodes.Of(value) is { } node)
                pending.Push(node);
        }
    }

    public void ReplaceContent(object content)
    {
        if (content is ObjectContent whole)
            (Slots, Unknown) = (whole.Slots, whole.Unknown);
        else
            Slots = (object?[])content;
    }

    public string LabelOf(ILiveNode child)
    {
        var slots = Slots ?? [];
        var index = Array.FindIndex(slots, value => ReferenceEquals(Nodes.Of(value), child));
        return index < 0 ? "" : "." + Model.Properties[index].Name;
    }

    public string Describe(object slot) => slot is string name ? "." + name : "";

    public (string Step, bool Present, object? Value) Inspect(object at)
    {
        var name = (string)at;
        var slot = Model.IndexOf(System.Text.Encoding.UTF8.GetBytes(name), -1);
        return ("." + name, true, slot >= 0 ? Slots![slot] : null);
    }

    public Action ReadOp(OpKind kind, ref GraphReader reader, out OpTarget written)
    {
        if (kind != OpKind.Set)
            throw OpReading.Unexpected(kind, this);
        var name = reader.Msg.ReadStringSpan();
        var slot = Model.IndexOf(name, -1);
        if (slot < 0)
        {
            var unknown = System.Text.Encoding.UTF8.GetString(name);
            written = new OpTarget(unknown) { At = unknown };
            // A member a newer version of the class has: kept as stored, so this version writes it back unchanged.
            var member = new UnknownMember(name.ToArray(), reader.Msg.ReadRawValue().ToArray());
            return () => Unknown = [.. (Unknown ?? []).Where(known => !known.Name.AsSpan().SequenceEqual(member.Name)), member];
        }
        var value = Model.Properties[slot].Codec.ReadBoxed(ref reader);
        written = new OpTarget(Model.Properties[slot].Name) { At = Model.Properties[slot].Name };
        return () =>
        {
            var old = Slots![slot];
            Slots[slot] = value;
            Header.Owner?.NoteRemoved(old);
        };
    }

    private void Set(int slot, object? value)
    {
        var owner = Header.OwnerForWrite(this);
        if (owner is null)
        {
            Slots![slot] = value ?? Model.Properties[slot].DefaultValue;
            return;
        }
        owner.Mutate(this, (slot, value), static (node, arg, work) =>
        {
            var property = node.Model.Properties[arg.slot];
            var live = property.Codec.ToLiveBoxed(arg.value ?? property.DefaultValue, work.Owner);
            var old = node.Slots![arg.slot];
            if (ReferenceEquals(old, live) || (live is not null && Nodes.Of(live) is null && live.Equals(old)))
            {
                work.NoteRead(node, property.Name); // nothing to store: that depends on the value seen
                return;
            }
            node.Slots[arg.slot] = live;
            work.Record(new PropertyChange(node, arg.slot, old, live));
        });
    }
}

/// <summary>A stored member the class does not have: its UTF-8 name and its encoded MessagePack value.</summary>
internal sealed record UnknownMember(byte[] Name, byte[] Value);

/// <summary>The decoded content of an object node, swapped in whole when a refresh reuses the node.</summary>
internal sealed record ObjectContent(object?[] Slots, UnknownMember[]? Unknown);
