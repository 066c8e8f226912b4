using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Xunit;

namespace Tosc.Testing;

/// <summary>A server a test can stop (cleanly or by SIGKILL) and start again with the same data on the same port.</summary>
public interface IRestartableServer : IDisposable
{
    /// <summary>Stops the server the way its operator would (it finishes or rolls back what is in flight).</summary>
    void Shutdown();

    /// <summary>Kills the server (SIGKILL): it recovers from its own log when started again.</summary>
    void Crash();

    /// <summary>Starts the server again on the same port with the same data.</summary>
    void StartAgain();
}

/// <summary>
/// The server goes away in the middle of a stream of commits from several clients (whole-state writes, or appends
/// with compactions) and comes back on the same port and data, by a clean shutdown or a crash: every acknowledged
/// commit is there, nothing is applied twice, nothing unacknowledged appears; a failed call is settled by its commit
/// id, the way the core does it. A backend's test project derives from this with its durable server.
/// </summary>
/// <typeparam name="TServer">The server the backend talks to.</typeparam>
public abstract class ServerRestartTests<TServer> where TServer : IRestartableServer
{
    /// <summary>Starts a durable server for one test (acknowledged writes survive a crash).</summary>
    protected abstract TServer StartServer();

    /// <summary>A client of <paramref name="key"/>; with <paramref name="shortTimeout"/>, calls give up within about two seconds.</summary>
    protected abstract ToscBackend Open(TServer server, string key, bool shortTimeout);

    private const int Writers = 4;
    private const int CommitsPerWriter = 60;

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void ServerRestart_InTheMiddleOfAStreamOfCommits_KeepsExactlyTheAcknowledgedCommits(bool crash, bool appends)
    {
        using var server = StartServer();
        var key = $"restart-{crash}-{appends}-{Guid.NewGuid():N}";
        var acknowledged = new ConcurrentBag<Guid>();
        var transientFailures = 0;
        var failures = new ConcurrentQueue<Exception>();
        var restarted = 0;
        var afterRestart = 0;

        var threads = Enumerable.Range(0, Writers).Select(_ => new Thread(() =>
        {
            try
            {
                using var backend = Open(server, key, shortTimeout: true);
                // At least CommitsPerWriter each, and on until a few land after the restart (a fast server may get
                // through them all before it stops).
                for (var i = 0; i < CommitsPerWriter || (Volatile.Read(ref afterRestart) < Writers && i < CommitsPerWriter * 50); i++)
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
        using var reader = Open(server, key, shortTimeout: false);
        var history = appends ? History(reader.ReadLog(null)) : History(reader.Read());
        Assert.Equal(history.Count, history.Distinct().Count()); // nothing applied twice
        Assert.True(acknowledged.Count >= Writers * CommitsPerWriter, $"{acknowledged.Count} commits acknowledged");
        Assert.Equal(acknowledged.OrderBy(g => g), history.OrderBy(g => g)); // nothing acknowledged lost, nothing extra
    }

    /// <summary>
    /// Appends <paramref name="id"/> to the stored history by compare-and-swap. A failed call is resolved the way
    /// the core does it: read back and look for the commit id, never write blindly again.
    /// </summary>
    private static void Commit(ToscBackend backend, Guid id, ConcurrentBag<Guid> acknowledged, ref int transientFailures) =>
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
    private static void Append(ToscBackend backend, Guid id, ConcurrentBag<Guid> acknowledged, ref int transientFailures) =>
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
