using System.Runtime.CompilerServices;
using Xunit;

namespace Tosc.Testing;

/// <summary>
/// The contract every <see cref="IBackend"/> must keep (see docs/backend-contract.md), written once and
/// inherited by one test class per backend. A derived class only says how to open a client of a store.
/// </summary>
/// <remarks>
/// Each test works on its own store (<see cref="NewStore"/>), so tests never share state, and opens every
/// client through <see cref="Client"/>, so the base class disposes them when the test ends.
/// </remarks>
public abstract partial class BackendContractTests : IDisposable
{
    private readonly List<IBackend> _opened = [];
    private readonly Lock _gate = new();

    /// <summary>
    /// Returns a new client of the store named <paramref name="store"/>. Two calls with the same name give two
    /// clients of one store: a write through one is seen by the other, and so is its change notification.
    /// </summary>
    protected abstract IBackend Open(string store);

    /// <summary>How many rounds the racing test runs; a slow backend may lower it.</summary>
    protected virtual int RaceRounds => 40;

    /// <summary>A deadline for "promptly": long enough for a loaded machine, far shorter than the waits' own timeouts.</summary>
    protected virtual TimeSpan PromptDeadline => TimeSpan.FromSeconds(10);

    /// <summary>A store name no other test uses.</summary>
    protected static string NewStore([CallerMemberName] string test = "") => $"{test}-{Guid.NewGuid():N}";

    /// <summary>Opens a client through <see cref="Open"/> and disposes it when the test ends.</summary>
    protected IBackend Client(string store)
    {
        var backend = Open(store);
        lock (_gate)
            _opened.Add(backend);
        return backend;
    }

    [Fact]
    public async Task Read_WhenStoreIsEmpty_ReturnsNull()
    {
        var backend = Client(NewStore());

        Assert.Null(backend.Read());
        Assert.Null(await backend.ReadAsync());
    }

    [Fact]
    public void Write_ThenRead_ReturnsDataVersionAndCommitIdToEveryClient()
    {
        var store = NewStore();
        var writer = Client(store);
        var reader = Client(store);
        var commitId = Guid.NewGuid();

        var version = writer.Write(Bytes("hello"), commitId);

        foreach (var client in new[] { writer, reader })
        {
            var state = client.Read();
            Assert.NotNull(state);
            Assert.Equal(version, state.Version);
            Assert.Equal(commitId, state.CommitId);
            Assert.Equal("hello", Text(state.Data));
        }
    }

    [Fact]
    public void Versions_AcrossWritesOfEveryKind_Increase()
    {
        var store = NewStore();
        var a = Client(store);
        var b = Client(store);
        var versions = new List<long>();

        versions.Add(a.TryWrite(Bytes("1"), null, Guid.NewGuid()) ?? throw new InvalidOperationException("the first TryWrite conflicted"));
        versions.Add(b.Write(Bytes("2"), Guid.NewGuid()));
        versions.Add(a.Write(Bytes("3"), Guid.NewGuid()));
        versions.Add(b.TryWrite(Bytes("4"), versions[^1], Guid.NewGuid()) ?? throw new InvalidOperationException("TryWrite on the current version conflicted"));
        versions.Add(a.Write(Bytes("5"), Guid.NewGuid()));

        for (var i = 1; i < versions.Count; i++)
            Assert.True(versions[i] > versions[i - 1], $"version {versions[i]} after {versions[i - 1]} (all: {string.Join(", ", versions)})");
        Assert.Equal(versions[^1], b.Read()?.Version);
    }

    [Fact]
    public async Task ReadVersion_MatchesTheVersionOfAFullRead()
    {
        var store = NewStore();
        var backend = Client(store);
        Assert.Null(backend.ReadVersion());
        Assert.Null(await backend.ReadVersionAsync());

        var version = Client(store).Write(Bytes("x"), Guid.NewGuid());

        Assert.Equal(version, backend.ReadVersion());
        Assert.Equal(version, await backend.ReadVersionAsync());
        Assert.Equal(backend.Read()?.Version, backend.ReadVersion());
    }

    [Fact]
    public void TryWrite_WithNullExpectedOnEmptyStore_Succeeds()
    {
        var backend = Client(NewStore());
        var commitId = Guid.NewGuid();

        var version = backend.TryWrite(Bytes("first"), null, commitId);

        Assert.NotNull(version);
        var state = backend.Read();
        Assert.Equal(version, state?.Version);
        Assert.Equal(commitId, state?.CommitId);
        Assert.Equal("first", Text(state!.Data));
    }

    [Fact]
    public void TryWrite_WithNullExpectedOnNonEmptyStore_ReturnsNullAndKeepsData()
    {
        var store = NewStore();
        var backend = Client(store);
        var commitId = Guid.NewGuid();
        var version = backend.Write(Bytes("kept"), commitId);

        Assert.Null(Client(store).TryWrite(Bytes("lost"), null, Guid.NewGuid()));

        var state = backend.Read();
        Assert.Equal(version, state?.Version);
        Assert.Equal(commitId, state?.CommitId);
        Assert.Equal("kept", Text(state!.Data));
    }

    [Fact]
    public void TryWrite_WithAVersionOnEmptyStore_ReturnsNull()
    {
        var backend = Client(NewStore());

        Assert.Null(backend.TryWrite(Bytes("lost"), 1, Guid.NewGuid()));
        Assert.Null(backend.Read());
    }

    [Fact]
    public void TryWrite_WithCurrentVersion_Succeeds()
    {
        var store = NewStore();
        var first = Client(store).Write(Bytes("old"), Guid.NewGuid());
        var other = Client(store);
        var commitId = Guid.NewGuid();

        var second = other.TryWrite(Bytes("new"), first, commitId);

        Assert.NotNull(second);
        Assert.NotEqual(first, second);
        var state = other.Read();
        Assert.Equal(second, state?.Version);
        Assert.Equal(commitId, state?.CommitId);
        Assert.Equal("new", Text(state!.Data));
    }

    [Fact]
    public void TryWrite_WithStaleVersion_ReturnsNullAndLeavesDataUntouched()
    {
        var store = NewStore();
        var a = Client(store);
        var b = Client(store);
        var stale = a.Write(Bytes("one"), Guid.NewGuid());
        var winnerId = Guid.NewGuid();
        var current = b.TryWrite(Bytes("two"), stale, winnerId);
        Assert.NotNull(current);

        Assert.Null(a.TryWrite(Bytes("three"), stale, Guid.NewGuid()));

        var state = a.Read();
        Assert.Equal(current, state?.Version);
        Assert.Equal(winnerId, state?.CommitId);
        Assert.Equal("two", Text(state!.Data));
    }

    [Fact]
    public void TryWrite_WhenTwoClientsRaceOnOneVersion_ExactlyOneWinsEveryRound()
    {
        var store = NewStore();
        var clients = new[] { Client(store), Client(store) };
        clients[0].Write(Bytes("start"), Guid.NewGuid());
        var rounds = RaceRounds;
        var seen = new long?[rounds, 2];
        var results = new long?[rounds, 2];
        var ids = new Guid[rounds, 2];
        using var barrier = new Barrier(2);
        var failures = new List<Exception>();

        var threads = Enumerable.Range(0, 2).Select(who => new Thread(() =>
        {
            try
            {
                for (var round = 0; round < rounds; round++)
                {
                    // Nobody writes between these two barriers, so both read the same version; then both race on it.
                    barrier.SignalAndWait();
                    seen[round, who] = clients[who].Read()?.Version;
                    ids[round, who] = Guid.NewGuid();
                    barrier.SignalAndWait();
                    results[round, who] = clients[who].TryWrite(Bytes($"{round}:{who}"), seen[round, who], ids[round, who]);
                }
            }
            catch (Exception e)
            {
                lock (failures)
                    failures.Add(e);
                barrier.RemoveParticipant();
            }
        }) { IsBackground = true }).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            Assert.True(thread.Join(Eventually.DefaultDeadline * 4), "the racing threads did not finish");

        Assert.Empty(failures);
        long? previous = null;
        for (var round = 0; round < rounds; round++)
        {
            Assert.Equal(seen[round, 0], seen[round, 1]);
            var winners = Enumerable.Range(0, 2).Where(who => results[round, who] is not null).ToArray();
            Assert.True(winners.Length == 1, $"round {round}: {winners.Length} clients won");
            var version = results[round, winners[0]]!.Value;
            Assert.True(previous is null || version > previous, $"round {round}: version {version} after {previous}");
            previous = version;
        }
        var last = Enumerable.Range(0, 2).Single(who => results[rounds - 1, who] is not null);
        var state = clients[0].Read();
        Assert.Equal(previous, state?.Version);
        Assert.Equal(ids[rounds - 1, last], state?.CommitId);
        Assert.Equal($"{rounds - 1}:{last}", Text(state!.Data));
    }

    [Fact]
    public void Write_WhenAnotherClientWroteMeanwhile_ReplacesUnconditionally()
    {
        var store = NewStore();
        var a = Client(store);
        var b = Client(store);
        var seen = a.Write(Bytes("a"), Guid.NewGuid());
        var moved = b.Write(Bytes("b"), Guid.NewGuid());
        var commitId = Guid.NewGuid();

        var version = a.Write(Bytes("c"), commitId);

        Assert.True(version > moved && moved > seen, $"versions {seen}, {moved}, {version}");
        var state = b.Read();
        Assert.Equal(version, state?.Version);
        Assert.Equal(commitId, state?.CommitId);
        Assert.Equal("c", Text(state!.Data));
    }

    [Fact]
    public async Task SyncAndAsyncForms_Agree()
    {
        var store = NewStore();
        var sync = Client(store);
        var async = Client(store);
        var firstId = Guid.NewGuid();

        var first = await async.TryWriteAsync(Bytes("async"), null, firstId);
        Assert.NotNull(first);
        Assert.Equal(first, sync.Read()?.Version);
        Assert.Equal(firstId, sync.Read()?.CommitId);
        Assert.Null(await async.TryWriteAsync(Bytes("conflict"), null, Guid.NewGuid()));
        Assert.Null(sync.TryWrite(Bytes("conflict"), null, Guid.NewGuid()));

        var secondId = Guid.NewGuid();
        var second = await async.WriteAsync(Bytes("async write"), secondId);
        var read = await async.ReadAsync();
        Assert.Equal(sync.Read()?.Version, read?.Version);
        Assert.Equal(second, read?.Version);
        Assert.Equal(secondId, read?.CommitId);
        Assert.Equal("async write", Text(read!.Data));

        var third = sync.Write(Bytes("sync write"), Guid.NewGuid());
        Assert.Null(await async.TryWriteAsync(Bytes("stale"), second, Guid.NewGuid()));
        Assert.NotNull(await async.TryWriteAsync(Bytes("fresh"), third, Guid.NewGuid()));
        Assert.Equal("fresh", Text((await async.ReadAsync())!.Data));
    }

    [Fact]
    public void SyncCalls_UnderASingleThreadedSynchronizationContext_DoNotDeadlock()
    {
        var store = NewStore();
        var backend = Client(store);
        Exception? failure = null;
        StoredState? state = null;

        // A context that never runs what is posted to it while the call blocks its only thread: a sync method
        // that waits on its own async work without ConfigureAwait(false) hangs here instead of in a UI app.
        var thread = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(new NeverPumpedContext());
            try
            {
                var version = backend.Write(Bytes("one"), Guid.NewGuid());
                backend.TryWrite(Bytes("two"), version, Guid.NewGuid());
                state = backend.Read();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { IsBackground = true };
        thread.Start();

        Assert.True(thread.Join(Eventually.DefaultDeadline), "a sync call deadlocked under a single-threaded SynchronizationContext");
        Assert.Null(failure);
        Assert.Equal("two", Text(state!.Data));
    }

    [Fact]
    public void Write_CopiesTheCallersBuffer()
    {
        var store = NewStore();
        var backend = Client(store);
        var buffer = Bytes("original");

        backend.Write(buffer, Guid.NewGuid());
        buffer.AsSpan().Fill((byte)'x');
        var afterWrite = Client(store).Read();
        backend.TryWrite(buffer, afterWrite!.Version, Guid.NewGuid());
        buffer.AsSpan().Fill((byte)'y');

        Assert.Equal("original", Text(afterWrite.Data));
        Assert.Equal("xxxxxxxx", Text(Client(store).Read()!.Data));
    }

    [Fact]
    public void EmptyPayload_RoundTrips()
    {
        var store = NewStore();
        var commitId = Guid.NewGuid();

        var version = Client(store).Write(ReadOnlyMemory<byte>.Empty, commitId);

        var state = Client(store).Read();
        Assert.NotNull(state);
        Assert.Equal(version, state.Version);
        Assert.Equal(commitId, state.CommitId);
        Assert.Equal(0, state.Data.Length);
    }

    [Fact]
    public void OneMebibytePayload_RoundTrips()
    {
        var store = NewStore();
        var payload = new byte[1 << 20];
        new Random(20240611).NextBytes(payload);

        var version = Client(store).TryWrite(payload, null, Guid.NewGuid());

        var state = Client(store).Read();
        Assert.Equal(version, state?.Version);
        Assert.True(payload.AsSpan().SequenceEqual(state!.Data.Span), "the 1 MiB payload came back different");
    }

    [Fact]
    public async Task WaitForChange_WhenAnotherClientWrites_ReturnsTheNewVersionPromptly()
    {
        var store = NewStore();
        var waiter = Client(store);
        var writer = Client(store);
        var known = writer.Write(Bytes("before"), Guid.NewGuid());
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task<long?> WaitUntilMoved()
        {
            long? current = known;
            ready.TrySetResult();
            // A spurious wake-up may return the known version; only a wait's own timeout (a minute) may not end it.
            while (current == known)
                current = await waiter.WaitForChangeAsync(known, TimeSpan.FromMinutes(1));
            return current;
        }

        var waiting = WaitUntilMoved();
        await ready.Task;
        var written = writer.Write(Bytes("after"), Guid.NewGuid());

        Assert.Equal(written, await Eventually.Within(waiting, "WaitForChangeAsync to report another client's write", PromptDeadline));
    }

    [Fact]
    public async Task WaitForChange_WhenKnownVersionIsAlreadyStale_ReturnsAtOnce()
    {
        var store = NewStore();
        var backend = Client(store);
        var old = backend.Write(Bytes("old"), Guid.NewGuid());
        var current = Client(store).Write(Bytes("new"), Guid.NewGuid());

        var fromOld = await Eventually.Within(backend.WaitForChangeAsync(old, TimeSpan.FromMinutes(1)).AsTask(), "a wait on a stale version", PromptDeadline);
        var fromNothing = await Eventually.Within(backend.WaitForChangeAsync(null, TimeSpan.FromMinutes(1)).AsTask(), "a wait on an empty store that is not empty", PromptDeadline);

        Assert.Equal(current, fromOld);
        Assert.Equal(current, fromNothing);
    }

    [Fact]
    public async Task WaitForChange_WhenNothingChanges_ReturnsTheSameVersionAfterTheTimeout()
    {
        var store = NewStore();
        var backend = Client(store);
        var empty = await Eventually.Within(backend.WaitForChangeAsync(null, TimeSpan.FromMilliseconds(100)).AsTask(), "a short wait on an empty store");
        var version = backend.Write(Bytes("still"), Guid.NewGuid());

        var same = await Eventually.Within(backend.WaitForChangeAsync(version, TimeSpan.FromMilliseconds(200)).AsTask(), "a short wait on a quiet store");

        Assert.Null(empty);
        Assert.Equal(version, same);
    }

    [Fact]
    public async Task WaitForChange_WhenCancelled_ThrowsOperationCanceled()
    {
        var store = NewStore();
        var backend = Client(store);
        var version = backend.Write(Bytes("quiet"), Guid.NewGuid());
        using var cancellation = new CancellationTokenSource();

        var waiting = backend.WaitForChangeAsync(version, TimeSpan.FromMinutes(1), cancellation.Token).AsTask();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Eventually.Within(waiting, "a cancelled wait to end", PromptDeadline));
    }

    [Fact]
    public async Task Write_WithACancelledToken_ThrowsAndStoresNothing()
    {
        var store = NewStore();
        var backend = Client(store);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        Assert.ThrowsAny<OperationCanceledException>(() => backend.Write(Bytes("no"), Guid.NewGuid(), cancellation.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await backend.TryWriteAsync(Bytes("no"), null, Guid.NewGuid(), cancellation.Token));

        Assert.Null(Client(store).Read());
    }

    [Fact]
    public void TwoStoreNames_AreIndependent()
    {
        var first = NewStore();
        var second = NewStore();
        var a = Client(first);
        var b = Client(second);

        var version = a.Write(Bytes("in first"), Guid.NewGuid());

        Assert.Null(b.Read());
        Assert.NotNull(b.TryWrite(Bytes("in second"), null, Guid.NewGuid()));
        Assert.Null(b.TryWrite(Bytes("again"), null, Guid.NewGuid()));
        Assert.Equal("in first", Text(a.Read()!.Data));
        Assert.Equal(version, Client(first).Read()?.Version);
        Assert.Equal("in second", Text(Client(second).Read()!.Data));
    }

    /// <summary>Disposes every client the test opened.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes every client the test opened; a derived class disposes what it shares after calling this.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
            return;
        IBackend[] opened;
        lock (_gate)
        {
            opened = [.. _opened];
            _opened.Clear();
        }
        foreach (var backend in opened)
            backend.Dispose();
    }

    /// <summary>UTF-8 bytes of <paramref name="text"/>.</summary>
    protected static byte[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    /// <summary>The UTF-8 text in <paramref name="data"/>.</summary>
    protected static string Text(ReadOnlyMemory<byte> data) => System.Text.Encoding.UTF8.GetString(data.Span);

    private sealed class NeverPumpedContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state)
        {
            // Dropped on purpose: the owning thread is blocked in the call under test.
        }

        public override SynchronizationContext CreateCopy() => this;
    }
}
