// A console dashboard bound to live objects: it redraws only the rows that changed. One manager (the "feed")
// changes prices; the dashboard's own manager applies those commits and its DDict raises CollectionChanged for
// each changed entry, on the dashboard's synchronization context (here a simple queue pumped by the main loop; in
// WPF, MAUI or Avalonia it is the UI thread's). Run: dotnet run --project samples/LiveDashboard [-- FILE]
// With a file path, run it in two terminals: both show the same board, each changes it.
using System.Collections.Specialized;
using System.Globalization;
using Tosc;

var rounds = 30;
using IBackend backend = args.Length > 0 ? new FileBackend(args[0]) : new InprocBackend();
var ui = new QueueContext();

using var dashboard = new Manager(backend, new ManagerOptions { SynchronizationContext = ui });
var board = dashboard.ReadOrInitialize(() => new Board
{
    Prices = new Dictionary<string, decimal> { ["apples"] = 1.20m, ["pears"] = 0.90m, ["plums"] = 2.10m, ["kiwis"] = 0.45m },
});
var rows = board.Prices.Keys.Order(StringComparer.Ordinal).ToList();
var screen = new Screen(rows);
screen.DrawAll(board.Prices);
((INotifyCollectionChanged)board.Prices).CollectionChanged += (_, e) =>
{
    // One event per changed entry: redraw that row only.
    foreach (KeyValuePair<string, decimal> entry in e.NewItems ?? Array.Empty<object>())
        screen.Draw(entry.Key, entry.Value);
};

using var feed = new Manager(backend);
var prices = feed.Read<Board>().Prices;
var random = new Random(7);
for (var round = 0; round < rounds; round++)
{
    var name = rows[random.Next(rows.Count)];
    feed.Run(() => prices[name] = Math.Round(prices[name] * (0.9m + (decimal)random.NextDouble() * 0.2m), 2));
    // The dashboard's manager applies the commit on its watcher; its events wait on the UI queue until pumped.
    ui.PumpUntil(() => board.Prices[name] == prices[name], TimeSpan.FromSeconds(5));
}
screen.Done();

public class Board
{
    public virtual IDictionary<string, decimal> Prices { get; set; } = new Dictionary<string, decimal>();
}

/// <summary>Draws one row per price; in a terminal it rewrites the changed row in place, else it prints the change.</summary>
internal sealed class Screen(List<string> rows)
{
    private readonly bool _inPlace = !Console.IsOutputRedirected;
    private readonly int _top = Console.IsOutputRedirected ? 0 : Console.CursorTop;

    public void DrawAll(IDictionary<string, decimal> prices)
    {
        foreach (var name in rows)
            Console.WriteLine(Row(name, prices[name]));
    }

    public void Draw(string name, decimal price)
    {
        if (!_inPlace)
        {
            Console.WriteLine($"changed: {Row(name, price)}");
            return;
        }
        Console.SetCursorPosition(0, _top + rows.IndexOf(name));
        Console.Write(Row(name, price) + " <");
        Console.SetCursorPosition(0, _top + rows.Count);
    }

    public void Done() => Console.WriteLine("done");

    private static string Row(string name, decimal price) => string.Create(CultureInfo.InvariantCulture, $"{name,-8} {price,8:0.00}");
}

/// <summary>A single-threaded synchronization context: callbacks run when the main loop pumps them.</summary>
internal sealed class QueueContext : SynchronizationContext
{
    private readonly System.Collections.Concurrent.BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = [];

    public override void Post(SendOrPostCallback d, object? state) => _queue.Add((d, state));

    public void PumpUntil(Func<bool> done, TimeSpan deadline)
    {
        var end = DateTime.UtcNow + deadline;
        while (DateTime.UtcNow < end)
        {
            while (_queue.TryTake(out var item))
                item.Callback(item.State);
            if (done())
                return;
            if (_queue.TryTake(out var next, TimeSpan.FromMilliseconds(50)))
                next.Callback(next.State);
        }
    }
}
