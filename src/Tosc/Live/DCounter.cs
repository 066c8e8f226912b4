using System.Diagnostics;
using System.Globalization;
using Tosc.Changes;
using Tosc.Conflicts;
using Tosc.Feed;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc;

/// <summary>
/// A live counter whose increments merge: an increment reads nothing, so increments made at the same time by other
/// managers never make a commit conflict (each is added on top of the others). Reading <see cref="Value"/> inside a
/// transaction does read it, and conflicts as any read does. Use it as a property type of your classes or inside
/// collections; created with <c>new</c>, it is a plain counter until it is stored.
/// </summary>
[DebuggerDisplay("{Value}")]
public sealed class DCounter : ILiveNode, IObservableNode, System.ComponentModel.INotifyPropertyChanged
{
    private readonly NodeHeader _header;
    private long _value;

    /// <summary>Creates a counter at zero, not yet stored.</summary>
    public DCounter() : this(0) { }

    /// <summary>Creates a counter at <paramref name="value"/>, not yet stored.</summary>
    public DCounter(long value) : this(value, new NodeHeader()) { }

    internal DCounter(long value, NodeHeader header)
    {
        _value = value;
        _header = header;
    }

    /// <summary>Raised with <c>Value</c> once per applied change (remote when applied, own when committed).</summary>
    public event System.ComponentModel.PropertyChangedEventHandler? PropertyChanged;

    /// <summary>The count.</summary>
    public long Value
    {
        get
        {
            var owner = _header.Owner;
            if (owner is null)
                return Volatile.Read(ref _value);
            lock (owner.Gate)
            {
                owner.NoteRead(this, ValueSlot);
                return _value;
            }
        }
    }

    NodeHeader ILiveNode.Header => _header;

    object ILiveNode.Instance => this;

    // The one part of a counter a read or a write names.
    private const string ValueSlot = nameof(Value);

    /// <summary>
    /// Adds <paramref name="delta"/> (negative to count down), without reading the value: recorded in the running
    /// transaction, or committed at once outside one, like any change of a live object.
    /// </summary>
    public void Increment(long delta = 1)
    {
        var owner = _header.OwnerForWrite(this);
        if (owner is null)
        {
            Interlocked.Add(ref _value, delta);
            return;
        }
        owner.Mutate(this, delta, static (counter, delta, work) =>
        {
            counter.Add(delta);
            work.Record(new CounterChange(counter, delta));
        });
    }

    /// <inheritdoc/>
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);

    internal long Stored => _value;

    internal void Add(long delta) => _value = unchecked(_value + delta);

    void ILiveNode.PushChildren(Stack<ILiveNode> pending)
    {
    }

    void ILiveNode.ReplaceContent(object content) => _value = (long)content;

    (string Step, bool Present, object? Value) ILiveNode.Inspect(object at) => ("", true, _value);

    bool IObservableNode.HasListeners => PropertyChanged is not null;

    void IObservableNode.Notify(PathChangeKind kind, object? at, object? old, object? @new) => PropertyChanged?.Invoke(this, BindingArgs.Value);

    Action ILiveNode.ReadOp(OpKind kind, ref GraphReader reader, out OpTarget written)
    {
        if (kind != OpKind.Increment)
            throw OpReading.Unexpected(kind, this);
        var delta = reader.Msg.ReadInt64();
        written = new OpTarget(ValueSlot) { At = ValueSlot };
        return () => Add(delta);
    }

    string ILiveNode.LabelOf(ILiveNode child) => "";

    string ILiveNode.Describe(object slot) => "";
}
