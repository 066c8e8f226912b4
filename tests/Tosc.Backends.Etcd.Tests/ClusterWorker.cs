using System.Globalization;
using Tosc.Testing;

namespace Tosc.Tests;

/// <summary>
/// The child-process side of the leader-kill case: <c>cluster-worker ENDPOINTS KEY COUNT NAME</c> adds one to the shared
/// counter COUNT times with default manager options, journalling each, and prints <c>ack ENTRY</c> once an increment is
/// known to be stored. A commit whose outcome is unknown (its reply was lost while the leader died) is settled the way
/// the README tells users to: read the stored state and repeat the change only when it is not there.
/// </summary>
internal static class ClusterWorker
{
    public const string Verb = "cluster-worker";

    public static int? Run(string[] args)
    {
        if (args.Length == 0 || args[0] != Verb)
            return null;
        if (args.Length != 5)
        {
            Console.Error.WriteLine($"usage: {Verb} ENDPOINTS KEY COUNT NAME");
            return 2;
        }
        var count = int.Parse(args[3], CultureInfo.InvariantCulture);
        using var backend = new EtcdBackend(args[1], args[2], new EtcdBackendOptions { OperationTimeout = TimeSpan.FromSeconds(2) });
        using var manager = new Manager(backend);
        var counter = Settle(() => manager.ReadOrInitialize(() => new ContractCounter()));
        Console.WriteLine("ready");
        for (var i = 0; i < count; i++)
        {
            var entry = $"{args[4]}-{i}";
            var unsure = false;
            Settle(() =>
            {
                if (unsure)
                {
                    // Look before repeating: the commit whose reply was lost may be stored.
                    manager.Refresh();
                    if (counter.Journal.Contains(entry))
                    {
                        Console.WriteLine($"settled {entry}");
                        return true;
                    }
                    unsure = false;
                }
                try
                {
                    manager.Run(() =>
                    {
                        counter.Value++;
                        counter.Journal.Add(entry);
                    });
                }
                catch (BackendException e) when (e.IsTransient || e is CommitOutcomeUnknownException)
                {
                    unsure = true;
                    throw;
                }
                return true;
            });
            Console.WriteLine($"ack {entry}");
        }
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>Runs <paramref name="call"/> until it gets through the cluster's leader change (two minutes at most).</summary>
    private static T Settle<T>(Func<T> call)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                return call();
            }
            catch (BackendException e) when ((e.IsTransient || e is CommitOutcomeUnknownException) && DateTime.UtcNow < deadline)
            {
                Console.WriteLine($"retry {e.GetType().Name}");
                Thread.Sleep(50); // back off while the cluster elects a leader
            }
        }
    }
}
