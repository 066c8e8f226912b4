using Tosc.Changes;
using Tosc.Conflicts;
using Tosc.Feed;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc;

/// <summary>
/// The change feed: what each applied record (and each own commit) changed, path by path, with detached values.
/// Described only while someone listens (Changed or Committed handlers, or a WatchAsync follower), so a manager
/// nobody watches pays nothing for it.
/// </summary>
public sealed partial class Manager
{
    // The records applied and described since the last event took them; guarded by the gate.
    private List<ChangeSet>? _applied;

    // Binding events owed for changes applied or committed, raised once the change is done; guarded by the gate.
    private List<Notification>? _notifications;

    // A manager that only follows the store for WatchAsync: it always describes.
    private bool _follows;

    // Own commits described for Committed, raised once the transaction has ended; and the id of the newest commit sent.
    private ChangedEventArgs? _pendingCommitted;
    private Guid _lastCommitId;

    /// <summary>
    /// Raised after this manager's own commit stored a new version, with what it changed (the same shape as
    /// <see cref="Changed"/>, which reports other managers' commits). Raised on the committing thread, after the
    /// transaction ended.
    /// </summary>
    public event EventHandler<ChangedEventArgs>? Committed;

    private bool Describing => _follows || Changed is not null;

    /// <summary>
    /// Applies one operation of a record and notes what it changed: a path change when described, a binding event
    /// when its node has listeners. Callers hold the gate.
    /// </summary>
    private void ApplyObserved(RecordOp op, PathFinder? paths, List<PathChange>? changes)
    {
        var node = op.Target!;
        var at = op.Written.At ?? op.Written.First;
        var kind = op.Written.Change;
        var path = paths?.Of(node);
        object? before = null;
        var existed = true;
        if (kind is PathChangeKind.Set or PathChangeKind.Remove or PathChangeKind.Replace)
            (_, existed, before) = node.Inspect(at);
        op.Apply();
        var (step, _, after) = node.Inspect(at);
        if (kind == PathChangeKind.Remove)
            after = null;
        if (kind == PathChangeKind.Set && !existed)
            kind = PathChangeKind.Insert; // a key the dictionary did not hold
        else if (kind == PathChangeKind.Replace && after is System.Collections.ICollection { Count: 0 })
            kind = PathChangeKind.Clear;
        if (changes is not null)
            changes.Add(new PathChange(PathFinder.Join(path!, step), kind, existed ? Detach(before) : null, Detach(after)));
        if (node is IObservableNode { HasListeners: true } observed)
        {
            // An append names the list's end: the index it took is in the step ("[n]").
            var position = ReferenceEquals(at, Slot.Count) ? int.Parse(step.AsSpan(1, step.Length - 2), System.Globalization.CultureInfo.InvariantCulture) : at;
            Notify(new Notification(observed, kind, position, before, after));
        }
    }

    /// <summary>Owes a binding event, raised once the change is done (<see cref="DispatchNotifications"/>). Callers hold the gate.</summary>
    private void Notify(Notification notification) => (_notifications ??= []).Add(notification);

    /// <summary>Whole contents were swapped in (a whole state read): every observed node gets a reset. Callers hold the gate.</summary>
    private void NotifyReplaced(IEnumerable<ILiveNode> nodes)
    {
        foreach (var node in nodes)
        {
            if (node is IObservableNode { HasListeners: true } observed)
                Notify(new Notification(observed, PathChangeKind.Replace, null, null, null));
        }
    }

    /// <summary>Binding events for the changes of a committed transaction. Callers hold the gate.</summary>
    private void NotifyCommitted(IReadOnlyList<Change> changes)
    {
        foreach (var change in changes)
        {
            if (change.Node is IObservableNode { HasListeners: true } observed)
            {
                var (at, kind, old, @new) = change.Describe();
                Notify(new Notification(observed, kind, at, old, @new));
            }
        }
    }

    /// <summary>
    /// Raises the binding events owed so far, in order, outside every lock: posted to
    /// <see cref="ManagerOptions.SynchronizationContext"/> when one is set, else here.
    /// </summary>
    private void DispatchNotifications()
    {
        List<Notification>? owed;
        lock (Gate)
        {
            owed = _notifications;
            _notifications = null;
        }
        if (owed is null)
            return;
        OnContext(() =>
        {
            foreach (var (node, kind, at, old, @new) in owed)
            {
                try
                {
                    node.Notify(kind, at, old, @new);
                }
                catch (Exception e)
                {
                    Diagnostics.ToscLog.ChangedHandlerFailed(_logger, e);
                }
            }
        });
    }

    /// <summary>Runs <paramref name="raise"/> on the configured synchronization context, or here when there is none.</summary>
    private void OnContext(Action raise)
    {
        if (_options.SynchronizationContext is { } context && SynchronizationContext.Current != context)
            context.Post(static state => ((Action)state!)(), raise);
        else
            raise();
    }

    /// <summary>The event for records applied since the last one (and their changes, when described).</summary>
    private ChangedEventArgs AppliedSince(long? oldVersion)
    {
        List<ChangeSet>? sets;
        lock (Gate)
        {
            sets = _applied;
            _applied = null;
        }
        if (sets is null)
            return new ChangedEventArgs(oldVersion, Version);
        return new ChangedEventArgs(oldVersion, Version, [.. sets.SelectMany(set => set.Changes)], sets[^1].CommitId);
    }

    /// <summary>A whole state replaced the graph: one Replace at the root, when described.</summary>
    private ChangedEventArgs WholeStateChanged(long? oldVersion, long? newVersion, Guid commitId) =>
        Describing
            ? new ChangedEventArgs(oldVersion, newVersion, [new PathChange("", PathChangeKind.Replace, null, Detach(_root))], commitId)
            : new ChangedEventArgs(oldVersion, newVersion);

    /// <summary>What a committed transaction changed, for <see cref="Committed"/>; callers hold the gate, before the changes are forgotten.</summary>
    private List<PathChange> DescribeOwn(IReadOnlyList<Change> changes)
    {
        var paths = new PathFinder(_root);
        var described = new List<PathChange>(changes.Count);
        foreach (var change in changes)
        {
            var (at, kind, old, @new) = change.Describe();
            var (step, _, _) = change.Node.Inspect(at);
            described.Add(new PathChange(PathFinder.Join(paths.Of(change.Node), step), kind, Detach(old), Detach(@new)));
        }
        return described;
    }

    /// <summary>
    /// A copy of <paramref name="value"/> the graph does not share: scalars and immutable values as they are, live
    /// nodes and collections as plain .NET objects (lists, dictionaries, sets, your classes without proxies).
    /// </summary>
    internal object? Detach(object? value)
    {
        switch (value)
        {
            case null or string:
                return value;
            case DCounter counter:
                return counter.Stored;
            case DByteArray bytes:
                return bytes.AsSpan().ToArray();
            case byte[] array:
                return array.Clone();
        }
        var type = value.GetType();
        if (Nodes.Of(value) is null && value is not System.Collections.IEnumerable
            && (type.IsValueType || ObjectModel.For(type).Kind == ObjectKind.Value))
            return value;
        var declared = DetachedType(value);
        return DeepValues.Run(_options.MaxDepth, () =>
        {
            var encoded = new EncodeContext(owner: null, _registry).Encode(Codecs.For(declared), value, ToscCompression.None);
            return Decode(encoded, declared, new DecodeContext(_registry, owner: null, live: false));
        });
    }

    /// <summary>The declared type a detached copy is read as: interfaces for collections, the user's class for a proxy.</summary>
    private static Type DetachedType(object value)
    {
        var type = LiveProxies.TypeOf(value);
        if (!type.IsGenericType)
            return type;
        var definition = type.GetGenericTypeDefinition();
        var arguments = type.GetGenericArguments();
        if (definition == typeof(DList<>) || definition == typeof(List<>))
            return typeof(IList<>).MakeGenericType(arguments);
        if (definition == typeof(DDict<,>) || definition == typeof(Dictionary<,>))
            return typeof(IDictionary<,>).MakeGenericType(arguments);
        if (definition == typeof(DSet<>) || definition == typeof(HashSet<>))
            return typeof(ISet<>).MakeGenericType(arguments);
        return type;
    }

    private void RaiseCommitted(ChangedEventArgs? committed) => Raise(Committed, committed);

    /// <summary>
    /// Raises a change event on the configured synchronization context (or here); a handler's exception is logged,
    /// never thrown into the commit or the watcher.
    /// </summary>
    private void Raise(EventHandler<ChangedEventArgs>? handlers, ChangedEventArgs? args)
    {
        if (args is null || handlers is null)
            return;
        OnContext(() =>
        {
            try
            {
                handlers.Invoke(this, args);
            }
            catch (Exception e)
            {
                Diagnostics.ToscLog.ChangedHandlerFailed(_logger, e);
            }
        });
    }
}
