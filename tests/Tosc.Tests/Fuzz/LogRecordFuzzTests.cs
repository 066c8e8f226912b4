using Tosc.Tests.Core;
using Xunit;
using Xunit.Abstractions;

namespace Tosc.Tests.Fuzz;

/// <summary>
/// Hostile log records (issue 11): valid records of every operation kind, mutated, appended after a valid snapshot and
/// applied by a manager. Each must end in success or <see cref="ToscDataException"/>, and a manager that refused one
/// must still hold a state it read (never half a record). The seed is printed; set TOSC_FUZZ_SEED to replay one.
/// </summary>
public sealed class LogRecordFuzzTests(ITestOutputHelper output)
{
    private static readonly (byte[] Snapshot, Guid CommitId, byte[] Record)[] Corpus = BuildCorpus();

    [Fact]
    public void MutatedRecords_EndInSuccessOrToscDataException()
    {
        var seed = Environment.GetEnvironmentVariable("TOSC_FUZZ_SEED") is { Length: > 0 } fixedSeed
            ? int.Parse(fixedSeed, System.Globalization.CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int applied = 0, refused = 0;
        for (var i = 0; i < 10_000; i++)
        {
            var (snapshot, commitId, record) = Corpus[random.Next(Corpus.Length)];
            var mutated = (i % 5) switch
            {
                0 => Mutators.FlipBits(random, record),
                1 => Mutators.SetByte(random, record),
                2 => Mutators.Insert(random, record),
                3 => Mutators.Delete(random, record),
                _ => Mutators.Truncate(random, record),
            };
            using var backend = new InprocBackend();
            backend.Write(snapshot, Guid.NewGuid());
            using var reader = new Manager(backend, new ManagerOptions { WatchForChanges = false });
            reader.Read<Inventory>();
            backend.TryAppend(mutated, backend.ReadVersion()!.Value, commitId);
            try
            {
                reader.Refresh();
                applied++;
            }
            catch (ToscDataException)
            {
                refused++;
                Assert.True(reader.Version == backend.Read()!.SnapshotVersion, $"seed {seed}, case {i}: a refused record moved the version");
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}, case {i}: {e.GetType().Name}: {e.Message}\n{Convert.ToHexString(mutated)}");
            }
        }
        output.WriteLine($"{applied} applied, {refused} refused");
        Assert.True(refused > 1000 && applied > 100, $"{refused} refused and {applied} applied of 10,000: the corpus or the checks are off");
    }

    /// <summary>Snapshots before one commit of every operation kind, with the commit's id and record.</summary>
    private static (byte[], Guid, byte[])[] BuildCorpus()
    {
        var corpus = new List<(byte[], Guid, byte[])>();
        Action<Inventory>[] commits =
        [
            i => i.Stock["apples"] = 3,
            i => i.Stock.Remove("pears"),
            i => i.Stock.Clear(),
            i => i.Log.Add("entry"),
            i => i.Log.Insert(0, "first"),
            i => i.Log[0] = "changed",
            i => i.Log.RemoveAt(0),
            i => i.Tags.Add("new"),
            i => i.Tags.Remove("old"),
            i => i.Settings.Currency = "USD",
            i => i.Items.Add(new Item { Name = "fresh", Notes = { "a", "b" } }),
            i => i.Items[0].Notes.Add("note"),
        ];
        foreach (var commit in commits)
        {
            using var backend = new InprocBackend();
            using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
            var inventory = manager.ReadOrInitialize(() => new Inventory
            {
                Stock = { ["pears"] = 1 },
                Log = { "zero" },
                Tags = { "old" },
                Items = { new Item { Name = "kept" } },
            });
            var snapshot = backend.Read()!;
            manager.Run(() => commit(inventory));
            var record = backend.ReadLog(snapshot.Version).Records.Single();
            corpus.Add((snapshot.Data.ToArray(), record.CommitId, record.Data.ToArray()));
        }
        return [.. corpus];
    }
}
