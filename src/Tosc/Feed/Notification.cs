using System.Collections.Specialized;
using System.ComponentModel;
using Tosc.Live;

namespace Tosc.Feed;

/// <summary>
/// One data-binding event owed to a node with listeners: made while a change is applied (under the gate), raised
/// after it (never under a lock, and on the manager's synchronization context when one is set).
/// </summary>
internal readonly record struct Notification(IObservableNode Node, PathChangeKind Kind, object? At, object? Old, object? New);

/// <summary>A live node that raises data-binding events (INotifyCollectionChanged / INotifyPropertyChanged).</summary>
internal interface IObservableNode
{
    /// <summary>Whether anyone listens: changes to a node nobody observes cost nothing extra.</summary>
    bool HasListeners { get; }

    /// <summary>
    /// Raises the events for one change: <paramref name="at"/> is a list index (resolved when the change was made), a
    /// key, an element or a member name; <paramref name="old"/> and <paramref name="new"/> are the live values.
    /// </summary>
    void Notify(PathChangeKind kind, object? at, object? old, object? @new);
}

/// <summary>The event arguments collections raise, shared so each is allocated once.</summary>
internal static class BindingArgs
{
    public static readonly PropertyChangedEventArgs Count = new("Count");
    public static readonly PropertyChangedEventArgs Indexer = new("Item[]");
    public static readonly PropertyChangedEventArgs Keys = new("Keys");
    public static readonly PropertyChangedEventArgs Values = new("Values");
    public static readonly PropertyChangedEventArgs Value = new("Value");
    public static readonly PropertyChangedEventArgs Everything = new(string.Empty);
    public static readonly NotifyCollectionChangedEventArgs Reset = new(NotifyCollectionChangedAction.Reset);
}
