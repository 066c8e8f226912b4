using System.Collections.Specialized;
using System.ComponentModel;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Core;

/// <summary>Data binding: live collections and proxies raise INotifyCollectionChanged / INotifyPropertyChanged.</summary>
public sealed class BindingTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    private static List<string> Record(INotifyCollectionChanged collection, INotifyPropertyChanged? properties = null)
    {
        var events = new List<string>();
        collection.CollectionChanged += (_, e) => events.Add(e.Action switch
        {
            NotifyCollectionChangedAction.Add => $"add {Show(e.NewItems)} at {e.NewStartingIndex}",
            NotifyCollectionChangedAction.Remove => $"remove {Show(e.OldItems)} at {e.OldStartingIndex}",
            NotifyCollectionChangedAction.Replace => $"replace {Show(e.OldItems)} by {Show(e.NewItems)} at {e.NewStartingIndex}",
            _ => "reset",
        });
        if (properties is not null)
            properties.PropertyChanged += (_, e) => events.Add($"property {e.PropertyName}");
        return events;
    }

    private static string Show(System.Collections.IList? items) => string.Join(",", items!.Cast<object>());

    [Fact]
    public void AListRaisesOneEventPerRemoteChange_InOrder_WithTheIndexesOfThatMoment()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(new Inventory { Log = ["a", "b", "c"] });
        var theirs = b.Read<Inventory>().Log;
        var events = Record((INotifyCollectionChanged)theirs);

        var mine = a.Read<Inventory>().Log;
        a.Run(() =>
        {
            mine.Insert(1, "x");   // a x b c
            mine.RemoveAt(3);      // a x b
            mine[0] = "A";         // A x b
            mine.Add("d");         // A x b d
        });
        b.Refresh();

        Assert.Equal(["add x at 1", "remove c at 3", "replace a by A at 0", "add d at 3"], events);
        Assert.Equal(["A", "x", "b", "d"], theirs);
    }

    [Fact]
    public void OwnChanges_RaiseTheirEventsWhenTheCommitSucceeds_AndARolledBackChangeRaisesNone()
    {
        var manager = _store.Open();
        manager.Write(new Inventory { Log = ["a"] });
        var log = manager.Read<Inventory>().Log;
        var events = Record((INotifyCollectionChanged)log, (INotifyPropertyChanged)log);

        using (var transaction = manager.Transaction())
        {
            log.Add("b");
            Assert.Empty(events); // not yet committed
            transaction.Commit();
        }
        Assert.Equal(["add b at 1", "property Count", "property Item[]"], events);

        events.Clear();
        using (manager.Transaction())
            log.Add("never");
        Assert.Empty(events);
    }

    [Fact]
    public void DictionariesSetsCountersAndObjects_RaiseTheirEvents_ForRemoteAndOwnChanges()
    {
        var (a, b) = (_store.OpenQuiet(), _store.OpenQuiet());
        a.Write(new Inventory { Stock = new Dictionary<string, int> { ["apples"] = 1 }, Tags = new HashSet<string> { "red" } });
        var theirs = b.Read<Inventory>();
        var stock = Record((INotifyCollectionChanged)theirs.Stock);
        var tags = Record((INotifyCollectionChanged)theirs.Tags);
        var settings = new List<string>();
        ((INotifyPropertyChanged)theirs.Settings).PropertyChanged += (sender, e) =>
        {
            Assert.Same(theirs.Settings, sender);
            settings.Add(e.PropertyName!);
        };

        var mine = a.Read<Inventory>();
        a.Run(() =>
        {
            mine.Stock["apples"] = 2;
            mine.Stock["kiwis"] = 3;
            mine.Stock.Remove("apples");
            mine.Tags.Add("blue");
            mine.Tags.Remove("red");
            mine.Settings.Currency = "USD";
        });
        b.Refresh();

        Assert.Equal(["replace [apples, 1] by [apples, 2] at -1", "add [kiwis, 3] at -1", "remove [apples, 2] at -1"], stock);
        Assert.Equal(["add blue at -1", "remove red at -1"], tags);
        Assert.Equal(["Currency"], settings);

        // This manager's own commit raises the same on its objects.
        var own = new List<string>();
        ((INotifyPropertyChanged)mine.Settings).PropertyChanged += (_, e) => own.Add(e.PropertyName!);
        mine.Settings.Precision = 4;
        Assert.Equal(["Precision"], own);
    }

    [Fact]
    public void WithASynchronizationContext_EventsArePostedToIt()
    {
        var context = new QueueContext();
        var manager = _store.Open(new ManagerOptions { SynchronizationContext = context, WatchForChanges = false });
        manager.Write(new Inventory());
        var log = manager.Read<Inventory>().Log;
        var events = Record((INotifyCollectionChanged)log);
        var committed = 0;
        manager.Committed += (_, _) => committed++;

        log.Add("a");

        Assert.Empty(events);
        Assert.Equal(0, committed);
        context.RunAll();
        Assert.Equal(["add a at 0"], events);
        Assert.Equal(1, committed);
    }

    [Fact]
    public void WithASynchronizationContext_TheWatcherAppliesRemoteCommitsThere_SoTwoReadsOnThatThreadNeverStraddleOne()
    {
        var context = new QueueContext();
        var reader = _store.Open(new ManagerOptions { SynchronizationContext = context });
        var writer = _store.OpenQuiet();
        writer.Write(new Counter { Value = 1 });
        var counter = reader.Read<Counter>();
        var changed = 0;
        reader.Changed += (_, _) => changed++;

        writer.Read<Counter>().Value = 2;
        Eventually.True(() => context.Count > 0, "the watcher posting the apply to the context");

        Assert.Equal(1, counter.Value); // not applied behind the context's back
        Assert.Equal(1, counter.Value);
        context.RunAll();
        Assert.Equal(2, counter.Value);
        Assert.Equal(1, changed);
    }

    private sealed class QueueContext : SynchronizationContext
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _posted = new();

        public int Count => _posted.Count;

        public override void Post(SendOrPostCallback d, object? state) => _posted.Enqueue((d, state));

        public void RunAll()
        {
            var previous = Current;
            SetSynchronizationContext(this);
            try
            {
                while (_posted.TryDequeue(out var item))
                    item.Callback(item.State);
            }
            finally
            {
                SetSynchronizationContext(previous);
            }
        }
    }
}
