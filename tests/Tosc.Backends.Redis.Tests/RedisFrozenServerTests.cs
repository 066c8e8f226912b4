using System.Diagnostics;
using System.Runtime.CompilerServices;
using StackExchange.Redis;
using Tosc.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tosc.Tests;

/// <summary>
/// Issue 16: a server that stops answering (SIGSTOP: connections open, nothing answered) makes a commit with the
/// default options give up within seconds, and never leaves a change applied twice.
/// </summary>
public sealed class RedisFrozenServerTests(ITestOutputHelper output)
{
    /// <summary>Well above the documented default budget (one operation timeout for the commit, one for its read-back).</summary>
    private static readonly TimeSpan GiveUpBound = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Commit_ToAFrozenServer_WithDefaultOptions_GivesUpWithinSeconds_AndLandsOnceOrNotAtAll(bool deltaCommits)
    {
        using var server = RedisServer.Start();
        var key = Me(deltaCommits);
        using var backend = new RedisBackend(server.Configuration, key);
        using var manager = new Manager(backend, new ManagerOptions { DeltaCommits = deltaCommits });
        var counter = manager.ReadOrInitialize(() => new SharedCounter());
        var clock = new Stopwatch();
        Exception? failure;

        server.Freeze();
        try
        {
            clock.Start();
            failure = Record.Exception(() => counter.Value++);
            clock.Stop();
        }
        finally
        {
            server.Thaw();
        }

        output.WriteLine($"gave up after {clock.Elapsed.TotalSeconds:0.0} s with {failure?.GetType().Name}");
        Assert.True(failure is BackendException, $"Expected a BackendException, got {failure}");
        Assert.True(clock.Elapsed < GiveUpBound, $"The commit gave up after {clock.Elapsed.TotalSeconds:0.0} s, not within {GiveUpBound.TotalSeconds:0} s.");
        Assert.Equal(0, counter.Value); // the failed commit was rolled back locally

        // Thawed, the server answers what it was sent meanwhile: the commit landed once or not at all.
        using var reader = new RedisBackend(server.Configuration, key);
        using var observer = new Manager(reader, new ManagerOptions { WatchForChanges = false });
        var stored = observer.Read<SharedCounter>().Value;
        Assert.InRange(stored, 0, 1);
        var log = reader.ReadLog(null);
        Assert.True(log.Records.Count <= 1, $"The log holds {log.Records.Count} records; at most the one commit may have landed.");
        Eventually.True(() => manager.Refresh<SharedCounter>().Value == stored, "the failed manager to show the stored state after a refresh");
    }

    [Fact]
    public async Task CallInFlight_WhenTheCallersConnectionIsClosedUnderIt_FailsAsATransientBackendException()
    {
        // The client cancels the commands still waiting when their connection closes: the caller must see a transient
        // BackendException (the command may have run), never the client's TaskCanceledException.
        using var server = RedisServer.Start();
        using var connection = await ConnectionMultiplexer.ConnectAsync(server.Configuration + ",syncTimeout=30000,asyncTimeout=30000");
        using var backend = new RedisBackend(connection, Me(false));
        var version = backend.Write(new byte[] { 1 }, Guid.NewGuid());
        Exception? failure;

        server.Freeze();
        try
        {
            var call = backend.TryWriteAsync(new byte[] { 2 }, version, Guid.NewGuid()).AsTask();
            Assert.NotSame(call, await Task.WhenAny(call, Task.Delay(TimeSpan.FromMilliseconds(200)))); // in flight: the server answers nothing
            await connection.CloseAsync(allowCommandsToComplete: false);
            failure = await Record.ExceptionAsync(() => call);
        }
        finally
        {
            server.Thaw();
        }

        Assert.True(failure is BackendException { IsTransient: true }, $"Expected a transient BackendException, got {failure}");
    }

    [Fact]
    public async Task CallsInFlight_WhenTheClientDropsAFrozenServersConnection_FailAsTransientBackendExceptions()
    {
        // After a few timeouts in a row the client gives up on the connection and fails the commands still waiting on it,
        // by cancelling them or with its reader's error; a caller must see a transient BackendException (the outcome is
        // unknown) either way. Many callers, so that some are in flight when the connection goes.
        using var server = RedisServer.Start();
        using var backend = new RedisBackend(server.Configuration, Me(false), new RedisBackendOptions { OperationTimeout = TimeSpan.FromSeconds(1) });
        var version = backend.Write(new byte[] { 1 }, Guid.NewGuid());
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var dropped = 0;

        server.Freeze();
        try
        {
            var callers = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                var deadline = Stopwatch.StartNew();
                while (Volatile.Read(ref dropped) == 0 && deadline.Elapsed < TimeSpan.FromSeconds(30))
                {
                    try
                    {
                        await backend.TryWriteAsync(new byte[] { 2 }, version, Guid.NewGuid());
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue(e);
                        if (e is BackendException { InnerException: RedisConnectionException })
                            Volatile.Write(ref dropped, 1);
                    }
                }
            })).ToArray();
            await Task.WhenAll(callers);
        }
        finally
        {
            server.Thaw();
        }

        Assert.True(dropped == 1, "The client never dropped the connection to the frozen server.");
        var wrong = failures.Where(e => e is not BackendException { IsTransient: true }).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {failures.Count} failures were not transient BackendExceptions; the first: {wrong.FirstOrDefault()}");
    }

    private static string Me(bool deltaCommits, [CallerMemberName] string name = "") => $"{name}-{deltaCommits}-{Guid.NewGuid():N}";
}
