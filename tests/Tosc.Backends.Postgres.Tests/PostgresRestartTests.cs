using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>
/// The server goes away in the middle of a stream of commits from several clients and comes back on the same port
/// and data: a fast shutdown (open transactions roll back, connections close) or a SIGKILL of the postmaster (crash
/// recovery from the WAL). A commit is one statement in its own transaction, so every acknowledged commit survives and
/// every other one is either wholly there or wholly absent; a lost reply is settled by commit id, as the core does.
/// </summary>
public sealed class PostgresRestartTests
{
    private const int Writers = 4;
    private const int CommitsPerWriter = 60;

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void ServerRestart_InTheMiddleOfAStreamOfCommits_KeepsExactlyTheAcknowledgedCommits(bool crash, bool appends)
    {
        using var server = PostgresServer.Start();
        var key = $"restart-{crash}-{appends}-{Guid.NewGuid():N}";
        var options = new PostgresBackendOptions { CommandTimeout = TimeSpan.FromSeconds(2) };
        var acknowledged = new ConcurrentBag<Guid>();
        var transientFailures = 0;
        var failures = new ConcurrentQueue<Exception>();
        var restarted = 0;
        var afterRestart = 0;

        var threads = Enumerable.Range(0, Writers).Select(_ => new Thread(() =>
        {
            try
            {
                using var backend = new PostgresBackend(server.ConnectionString, key, options);
                for (var i = 0; i < CommitsPerWriter; i++)
                {
                    if (appends)
                        Append(backend, Guid.NewGuid(), acknowledged, ref transientFailures);
                    else
                        Commit(backend, Guid.NewGuid(), acknowledged, ref transientFailures);
                    if (Volatile.Read(ref restarted) != 0)
                        Interlocked.Increment(ref afterRestart);
                }
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        }) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());

        Eventually.True(() => acknowledged.Count >= 40 || !failures.IsEmpty, "40 commits before the restart");
        if (crash)
            server.Crash();
        else
            server.Shutdown();
        server.StartAgain();
        Volatile.Write(ref restarted, 1);
        foreach (var thread in threads)
            Assert.True(thread.Join(TimeSpan.FromMinutes(3)), "a writer did not finish");

        Assert.Empty(failures);
        Assert.True(afterRestart > 0, "no commit happened after the restart");
        using var reader = new PostgresBackend(server.ConnectionString, key);
        var history = appends ? History(reader.ReadLog(null)) : History(reader.Read());
        Assert.Equal(history.Count, history.Distinct().Count()); // nothing applied twice
        Assert.Equal(Writers * CommitsPerWriter, acknowledged.Count);
        Assert.Equal(acknowledged.OrderBy(g => g), history.OrderBy(g => g)); // nothing acknowledged lost, nothing extra
    }

    /// <summary>
    /// Appends <paramref name="id"/> to the stored history by compare-and-swap. A failed call is resolved the way
    /// the core does it: read back and look for the commit id, never write blindly again.
    /// </summary>
    private static void Commit(PostgresBackend backend, Guid id, ConcurrentBag<Guid> acknowledged, ref int transientFailures) =>
        Settle(id, acknowledged, ref transientFailures, () =>
        {
            var state = backend.Read();
            var history = History(state);
            if (history.Contains(id))
                return true; // a call whose reply was lost did commit
            history.Add(id);
            return backend.TryWrite(Encode(history), state?.Version, id) is not null;
        });

    /// <summary>
    /// Appends <paramref name="id"/> as a log record of its own, and compacts every tenth record into a snapshot, the way
    /// the core settles a failed append: find the commit id in the log read back, never append blindly again.
    /// </summary>
    private static void Append(PostgresBackend backend, Guid id, ConcurrentBag<Guid> acknowledged, ref int transientFailures) =>
        Settle(id, acknowledged, ref transientFailures, () =>
        {
            var slice = backend.ReadLog(null);
            var history = History(slice);
            if (history.Contains(id))
                return true; // a call whose reply was lost did append
            if (slice.Version is not { } version)
            {
                backend.TryWrite(Array.Empty<byte>(), null, Guid.NewGuid()); // the first one in writes the empty snapshot
                return false;
            }
            if (backend.TryAppend(id.ToByteArray(), version, id) is not { } appended)
                return false;
            if (appended.Records >= 10)
                backend.TryCompact(Encode([.. history, id]), appended.Version);
            return true;
        });

    /// <summary>Runs <paramref name="attempt"/> until it reports <paramref name="id"/> stored, riding out a server that is away.</summary>
    private static void Settle(Guid id, ConcurrentBag<Guid> acknowledged, ref int transientFailures, Func<bool> attempt)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (clock.Elapsed >= TimeSpan.FromMinutes(1))
                throw new TimeoutException($"commit {id} unresolved after a minute");
            try
            {
                if (attempt())
                    break;
            }
            catch (BackendException e) when (e.IsTransient)
            {
                Interlocked.Increment(ref transientFailures);
                Thread.Sleep(20); // back off while the server is away
            }
        }
        acknowledged.Add(id);
    }

    private static List<Guid> History(LogSlice slice) =>
        [.. History(slice.Snapshot), .. slice.Records.Select(r => new Guid(r.Data.Span))];

    private static List<Guid> History(StoredState? state) =>
        state is null || state.Data.Length == 0
            ? []
            : Encoding.UTF8.GetString(state.Data.Span).Split(',').Select(Guid.Parse).ToList();

    private static byte[] Encode(List<Guid> history) => Encoding.UTF8.GetBytes(string.Join(',', history));
}
