using Tosc.Changes;
using Tosc.Conflicts;
using Tosc.Serialization;

namespace Tosc.Live;

/// <summary>
/// The state of one live user object. Its stored values live where a plain instance keeps them, in the backing fields of
/// its subclass instance (see <see cref="LiveProxies"/>): a read costs what it costs on a plain object. The node reads and
/// writes them by slot (<see cref="Get"/>, <see cref="Put"/>), and records every write made through a setter once the
/// node is <see cref="Ready"/> (while the class's constructor runs, setters fall through to the base class).
/// </summary>
internal sealed class ObjectNode : NodeHeader, ILiveNode, Feed.IObservableNode
{
    // What few objects need, kept aside so that the many which don't pay nothing for it.
    private Rarely? _rarely;

    public ObjectNode(ObjectModel model) => Model = model;

    public ObjectModel Model { get; }

    public NodeHeader Header => this;

    // Made once, by whichever comes first: a decode meeting unknown members (under the gate) or a subscriber (under this).
    private Rarely Rare
    {
        get
        {
            if (_rarely is { } rarely)
                return rarely;
            Interlocked.CompareExchange(ref _rarely, new Rarely(), null);
            return _rarely;
        }
    }

    /// <summary>Set once the node's content is in place: from then on, setters record their changes.</summary>
    public bool Ready { get; private set; }

    /// <summary>
    /// Stored members this version of the class does not know (written by a newer or older version), as encoded: they
    /// are written back unchanged, so two versions of an application can share a store.
    /// </summary>
    public UnknownMember[]? Unknown
    {
        get => _rarely?.Unknown;
        set
        {
            if (value is not null || _rarely is not null)
                Rare.Unknown = value;
        }
    }

    public object Instance { get; set; } = null!;

    /// <summary>The value in a slot, boxed.</summary>
    public object? Get(int slot) => Model.Properties[slot].GetStored(Instance);

    /// <summary>Puts a value in a slot, unrecorded (decoding, applying, undoing); <see langword="null"/> is the type's default.</summary>
    public void Put(int slot, object? value)
    {
        var property = Model.Properties[slot];
        property.PutStored(Instance, value ?? property.DefaultValue);
    }

    /// <summary>
    /// A stored property's getter calls this when some manager runs a transaction: the read is noted if it is this
    /// object's manager, in the flow running it. Outside transactions a getter reads its field and nothing else.
    /// </summary>
    public void NoteRead(int slot)
    {
        if (Ready && Header.Owner is { TracksReads: true } owner)
            owner.NoteRead(this, Model.Properties[slot].Name);
    }

    /// <summary>
    /// The getter of a property whose values are wider than one machine word (a decimal, a Guid, a struct), which a
    /// plain read could see half written by another thread: read under the manager's gate, which every write holds.
    /// </summary>
    public object? GetLocked(int slot)
    {
        if (Header.Owner is not { } owner)
            return Get(slot);
        lock (owner.Gate)
        {
            NoteRead(slot);
            return Get(slot);
        }
    }

    /// <summary>A stored property's setter: records the change. <see langword="false"/> while the class's constructor runs.</summary>
    public bool TryWrite(int slot, object? value)
    {
        if (!Ready)
            return false;
        Set(slot, value);
        return true;
    }

    /// <summary>The proxy's <c>INotifyPropertyChanged.PropertyChanged</c> add accessor.</summary>
    public void Subscribe(System.ComponentModel.PropertyChangedEventHandler? handler)
    {
        lock (this)
            Rare.PropertyChanged += handler;
    }

    /// <summary>The proxy's <c>INotifyPropertyChanged.PropertyChanged</c> remove accessor.</summary>
    public void Unsubscribe(System.ComponentModel.PropertyChangedEventHandler? handler)
    {
        lock (this)
        {
            if (_rarely is not null)
                _rarely.PropertyChanged -= handler;
        }
    }

    public bool HasListeners => _rarely?.PropertyChanged is not null;

    public void Notify(PathChangeKind kind, object? at, object? old, object? @new) =>
        _rarely?.PropertyChanged?.Invoke(Instance, at is string name ? new System.ComponentModel.PropertyChangedEventArgs(name) : Feed.BindingArgs.Everything);

    public void PushChildren(Stack<ILiveNode> pending)
    {
        if (!Ready)
            return;
        for (var i = 0; i < Model.Properties.Length; i++)
        {
            if (Model.Properties[i].Codec.MayHoldNodes && Nodes.Of(Get(i)) is { } node)
                pending.Push(node);
        }
    }

    public void ReplaceContent(object content)
    {
        var (slots, unknown) = content is ObjectContent whole ? (whole.Slots, whole.Unknown) : ((object?[])content, Unknown);
        for (var i = 0; i < slots.Length; i++)
            Put(i, slots[i]);
        Unknown = unknown;
        Ready = true;
    }

    public string LabelOf(ILiveNode child)
    {
        for (var i = 0; Ready && i < Model.Properties.Length; i++)
        {
            if (ReferenceEquals(Nodes.Of(Get(i)), child))
                return "." + Model.Properties[i].Name;
        }
        return "";
    }

    public string Describe(object slot) => slot is string name ? "." + name : "";

    public (string Step, bool Present, object? Value) Inspect(object at)
    {
        var name = (string)at;
        var slot = Model.IndexOf(System.Text.Encoding.UTF8.GetBytes(name), -1);
        return ("." + name, true, slot >= 0 ? Get(slot) : null);
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
            var old = Get(slot);
            Put(slot, value);
            Header.Owner?.NoteRemoved(old);
        };
    }

    private void Set(int slot, object? value)
    {
        var owner = Header.OwnerForWrite(this);
        if (owner is null)
        {
            Put(slot, value);
            return;
        }
        owner.Mutate(this, (slot, value), static (node, arg, work) =>
        {
            var property = node.Model.Properties[arg.slot];
            var live = property.Codec.ToLiveBoxed(arg.value ?? property.DefaultValue, work.Owner);
            var old = node.Get(arg.slot);
            if (ReferenceEquals(old, live) || (live is not null && Nodes.Of(live) is null && live.Equals(old)))
            {
                work.NoteRead(node, property.Name); // nothing to store: that depends on the value seen
                return;
            }
            node.Put(arg.slot, live);
            work.Record(new PropertyChange(node, arg.slot, old, live));
        });
    }
}

/// <summary>The parts of an object node that few objects use: members only another version of the class knows, and data binding.</summary>
internal sealed class Rarely
{
    public UnknownMember[]? Unknown;

    public System.ComponentModel.PropertyChangedEventHandler? PropertyChanged;
}

/// <summary>A stored member the class does not have: its UTF-8 name and its encoded MessagePack value.</summary>
internal sealed record UnknownMember(byte[] Name, byte[] Value);

/// <summary>The decoded content of an object node, swapped in whole when a refresh reuses the node.</summary>
internal sealed record ObjectContent(object?[] Slots, UnknownMember[]? Unknown);
