using Xunit;

namespace Tosc.Tests.Chaos;

/// <summary>
/// A commit whose reply is lost (the write landed or not; the caller got a transient failure) is resolved by reading
/// back its commit id, never by blindly running it again. The store's contents must show each transaction once.
/// </summary>
public sealed class LostReplyTests : IDisposable
{
    private readonly InprocBackend _store = new();

    public void Dispose() => _store.Dispose();

    private static ManagerOptions Options() => new() { WatchForChanges = false };

    [Fact]
    public void Commit_WhoseReplyWasLostAfterItLanded_IsAppliedOnce()
    {
        var lossy = new LossyBackend(_store) { LoseNextReplyAfterLanding = true };
        using var manager = new Manager(lossy, Options());
        var ledger = manager.ReadOrInitialize(() => new Ledger());

        manager.Run(() => ledger.Entries.Add("once"));

        using var observer = new Manager(_store, Options());
        Assert.Equal(["once"], observer.Read<Ledger>().Entries);
        Assert.Equal(_store.Read()!.Version, manager.Version);
        Assert.Equal(1, lossy.RepliesLost);
    }

    [Fact]
    public void Commit_WhoseRequestWasLostBeforeItLanded_IsWrittenOnce()
    {
        var lossy = new LossyBackend(_store) { LoseNextRequest = true };
        using var manager = new Manager(lossy, Options());
        var ledger = manager.ReadOrInitialize(() => new Ledger());

        manager.Run(() => ledger.Entries.Add("once"));

        using var observer = new Manager(_store, Options());
        Assert.Equal(["once"], observer.Read<Ledger>().Entries);
        Assert.Equal(1, lossy.RepliesLost);
    }

    [Fact]
    public void Commit_WhoseReplyWasLostAfterItLanded_AndAnotherCommitFollowed_IsNotAppliedTwice()
    {
        using var other = new Manager(_store, Options());
        var lossy = new LossyBackend(_store) { LoseNextReplyAfterLanding = true };
        // Between the landing and the read-back, another manager commits on top (what a busy store does).
        lossy.AfterLanding = () => other.Run(() => other.Read<Ledger>().Entries.Add("other"));
        using var manager = new Manager(lossy, Options());
        var ledger = manager.ReadOrInitialize(() => new Ledger());
        other.Refresh<Ledger>();

        try
        {
            manager.Run(() => ledger.Entries.Add("mine"));
        }
        catch (BackendException)
        {
            // Reporting "outcome unknown" is fine; running the body again is not.
        }

        using var observer = new Manager(_store, Options());
        Assert.Equal(1, observer.Read<Ledger>().Entries.Count(e => e == "mine"));
    }

    /// <summary>Loses the reply of the next compare-and-swap after it landed, or the next request before it lands.</summary>
    private sealed class LossyBackend(IBackend inner) : IBackend
    {
        public bool LoseNextReplyAfterLanding { get; set; }

        public bool LoseNextRequest { get; set; }

        public Action? AfterLanding { get; set; }

        public int RepliesLost { get; private set; }

        public StoredState? Read(CancellationToken cancellationToken = default) => inner.Read(cancellationToken);

        public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

        public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => inner.Write(data, commitId, cancellationToken);

        public ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => inner.WriteAsync(data, commitId, cancellationToken);

        public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default)
        {
            if (LoseNextRequest && expectedVersion is not null)
            {
                LoseNextRequest = false;
                RepliesLost++;
                throw new BackendException("Injected: the request was lost before it reached the store.", isTransient: true);
            }
            var version = inner.TryWrite(data, expectedVersion, commitId, cancellationToken);
            if (LoseNextReplyAfterLanding && version is not null && expectedVersion is not null)
            {
                LoseNextReplyAfterLanding = false;
                RepliesLost++;
                AfterLanding?.Invoke();
                throw new BackendException("Injected: the reply was lost after the write landed.", isTransient: true);
            }
            return version;
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
