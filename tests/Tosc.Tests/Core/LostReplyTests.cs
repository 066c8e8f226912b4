using Xunit;

namespace Tosc.Tests.Core;

/// <summary>
/// Commits whose reply is lost. A lost reply cannot be produced with the in-process store, so a decorator
/// injects it: the fault is simulated, the store and the managers are real.
/// </summary>
public sealed class LostReplyTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void ReplyLostAfterTheWriteLanded_CountsAsCommitted_AndTheBodyRunsOnce()
    {
        var faulty = new LosingBackend(_store.Backend) { Mode = LossMode.AfterWrite };
        using var manager = new Manager(faulty, new ManagerOptions { WatchForChanges = false });
        manager.Write(new Counter());
        var counter = manager.Read<Counter>();
        var runs = 0;

        faulty.Armed = true;
        manager.Run(() =>
        {
            runs++;
            counter.Value++;
        });

        Assert.Equal(1, runs);
        Assert.Equal(1, _store.OpenQuiet().Read<Counter>().Value);
        Assert.Equal(_store.Backend.Read()!.Version, manager.Version);
    }

    [Fact]
    public void ReplyLostBeforeTheWrite_IsTriedAgainTransparently()
    {
        var faulty = new LosingBackend(_store.Backend) { Mode = LossMode.BeforeWrite };
        using var manager = new Manager(faulty, new ManagerOptions { WatchForChanges = false });
        manager.Write(new Counter());
        var counter = manager.Read<Counter>();

        faulty.Armed = true;
        counter.Value = 7;

        Assert.Equal(7, _store.OpenQuiet().Read<Counter>().Value);
    }

    [Fact]
    public void ReplyLost_ThenAnotherCommitLandsOnTop_IsReportedAsUnknown_AndNeverAppliedTwice()
    {
        var faulty = new LosingBackend(_store.Backend) { Mode = LossMode.AfterWrite };
        using var manager = new Manager(faulty, new ManagerOptions { WatchForChanges = false });
        manager.Write(new Inventory());
        var inventory = manager.Read<Inventory>();
        var other = _store.OpenQuiet();
        other.Read<Inventory>();
        faulty.BeforeReadBack = () => other.Refresh<Inventory>().Log.Add("theirs");
        var runs = 0;

        faulty.Armed = true;
        var error = Assert.Throws<CommitOutcomeUnknownException>(() => manager.Run(() =>
        {
            runs++;
            inventory.Log.Add("mine");
        }));

        Assert.Equal(1, runs);
        Assert.False(error.IsTransient);
        Assert.Contains("cannot be told", error.Message);
        Assert.Empty(inventory.Log); // rolled back locally
        Assert.Equal(["mine", "theirs"], _store.OpenQuiet().Read<Inventory>().Log); // stored exactly once
    }

    private enum LossMode
    {
        BeforeWrite,
        AfterWrite,
    }

    private sealed class LosingBackend(IBackend inner) : IBackend
    {
        public LossMode Mode { get; init; }

        public bool Armed { get; set; }

        public Action? BeforeReadBack { get; set; }

        public StoredState? Read(CancellationToken cancellationToken = default)
        {
            var hook = BeforeReadBack;
            BeforeReadBack = null;
            hook?.Invoke();
            return inner.Read(cancellationToken);
        }

        public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) => new(Read(cancellationToken));

        public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => inner.Write(data, commitId, cancellationToken);

        public ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => inner.WriteAsync(data, commitId, cancellationToken);

        public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default)
        {
            if (!Armed)
                return inner.TryWrite(data, expectedVersion, commitId, cancellationToken);
            Armed = false;
            if (Mode == LossMode.AfterWrite)
                inner.TryWrite(data, expectedVersion, commitId, cancellationToken);
            throw new BackendException("the reply was lost (injected)", isTransient: true);
        }

        public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
            new(TryWrite(data, expectedVersion, commitId, cancellationToken));

        public ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default) =>
            inner.WaitForChangeAsync(knownVersion, timeout, cancellationToken);

        public void Dispose()
        {
        }
    }
}
