using Xunit;

namespace Tosc.Tests.Core;

/// <summary>
/// Random operation sequences applied to live objects (through several managers on one store) and to plain
/// .NET collections, compared after every step. A failure names its seed; set TOSC_SEED to replay one.
/// </summary>
public sealed class ModelBasedTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void RandomOperations_ThroughSeveralManagers_MatchThePlainModel(int seed)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("TOSC_SEED"), out var replay))
            seed = replay;
        var step = 0;
        string lastOperation = "";
        try
        {
            var random = new Random(seed);
            var managers = new[] { _store.Open(), _store.Open(), _store.OpenQuiet() };
            managers[0].Write(new Shapes());
            var model = new Shapes();
            for (step = 0; step < 300; step++)
            {
                var manager = managers[random.Next(managers.Length)];
                var live = manager.Read<Shapes>();
                var operations = Enumerable.Range(0, random.Next(1, 4)).Select(_ => Plan(random)).ToList();
                lastOperation = string.Join("; ", operations.Select(o => o.Name));
                var mode = random.Next(10);
                if (mode == 0)
                {
                    // A transaction that rolls back: the model stays as it is.
                    using (manager.Transaction())
                    {
                        foreach (var operation in operations)
                            operation.Apply(live);
                    }
                }
                else if (mode == 1 && operations.Count == 1)
                {
                    manager.Refresh();
                    operations[0].Apply(live); // an implicit transaction
                    operations[0].Apply(model);
                }
                else
                {
                    manager.Run(() =>
                    {
                        foreach (var operation in operations)
                            operation.Apply(live);
                    }, retries: 100);
                    foreach (var operation in operations)
                        operation.Apply(model);
                }
                // After a rollback the manager committed nothing, so it may not have seen the latest commit yet.
                AssertSame(model, mode == 0 ? manager.Refresh<Shapes>() : manager.Read<Shapes>(), $"the manager that changed it (mode {mode})");
                var other = managers[random.Next(managers.Length)];
                AssertSame(model, other.Refresh<Shapes>(), "another manager after Refresh");
            }
            foreach (var manager in managers)
                AssertSame(model, manager.Refresh<Shapes>(), "every manager at the end");
            AssertSame(model, managers[0].Snapshot<Shapes>(), "a snapshot");
        }
        catch (Exception e) when (e is not ReplayException)
        {
            throw new ReplayException($"Seed {seed} failed at step {step} ({lastOperation}); replay with TOSC_SEED={seed}.", e);
        }
    }

    // Positions are drawn now but resolved against the state the operation meets, so a batch of
    // operations applies identically to the live objects and to the model.
    private static Operation Plan(Random random)
    {
        var key = $"k{random.Next(8)}";
        var number = random.Next(-50, 50);
        var pick = random.Next(1000);
        switch (random.Next(14))
        {
            case 0:
                return new("numbers.add", s => s.Numbers.Add(number));
            case 1:
                return new("numbers.removeAt", s => { if (s.Numbers.Count > 0) s.Numbers.RemoveAt(pick % s.Numbers.Count); });
            case 2:
                return new("numbers.set", s => { if (s.Numbers.Count > 0) s.Numbers[pick % s.Numbers.Count] = number; });
            case 3:
                return new("numbers.insert", s => s.Numbers.Insert(pick % (s.Numbers.Count + 1), number));
            case 4:
                return new("map.set", s => s.Map[key] = number);
            case 5:
                return new("map.remove", s => s.Map.Remove(key));
            case 6:
                return new("names.add", s => s.Names.Add(key));
            case 7:
                return new("names.remove", s => s.Names.Remove(key));
            case 8:
                return new("items.add", s => s.Items.Add(new Item { Name = key, Count = number }));
            case 9:
                return new("items.count", s => { if (s.Items.Count > 0) s.Items[pick % s.Items.Count].Count = number; });
            case 10:
                return new("items.note", s => { if (s.Items.Count > 0) s.Items[pick % s.Items.Count].Notes.Add(key); });
            case 11:
                return new("items.removeAt", s => { if (s.Items.Count > 0) s.Items.RemoveAt(pick % s.Items.Count); });
            case 12:
                return new("numbers.clear", s => s.Numbers.Clear());
            default:
                return new("label.set", s => s.Label = key);
        }
    }

    private static void AssertSame(Shapes expected, Shapes actual, string who)
    {
        Assert.True(expected.Label == actual.Label, $"{who}: label {actual.Label} != {expected.Label}");
        Assert.True(expected.Numbers.SequenceEqual(actual.Numbers), $"{who}: numbers [{string.Join(",", actual.Numbers)}] != [{string.Join(",", expected.Numbers)}]");
        Assert.True(expected.Map.OrderBy(p => p.Key).SequenceEqual(actual.Map.OrderBy(p => p.Key)), $"{who}: map differs");
        Assert.True(expected.Names.SetEquals(actual.Names), $"{who}: names differ");
        Assert.True(expected.Items.Count == actual.Items.Count, $"{who}: {actual.Items.Count} items != {expected.Items.Count}");
        for (var i = 0; i < expected.Items.Count; i++)
        {
            var (e, a) = (expected.Items[i], actual.Items[i]);
            Assert.True(e.Name == a.Name && e.Count == a.Count && e.Notes.SequenceEqual(a.Notes), $"{who}: item {i} differs");
        }
    }

    private sealed record Operation(string Name, Action<Shapes> Apply);

    private sealed class ReplayException(string message, Exception inner) : Exception(message, inner);
}

public class Shapes
{
    public virtual string Label { get; set; } = "";
    public virtual IList<int> Numbers { get; set; } = new List<int>();
    public virtual IDictionary<string, int> Map { get; set; } = new Dictionary<string, int>();
    public virtual ISet<string> Names { get; set; } = new HashSet<string>();
    public virtual IList<Item> Items { get; set; } = new List<Item>();
}
