using System.Collections.Concurrent;
using Tosc.Testing;

namespace Tosc.Tests.Backends;

/// <summary>Runs the shared backend contract suite against <see cref="InprocBackend"/>.</summary>
public sealed class InprocBackendContractTests : BackendContractTests
{
    // An InprocBackend is the store itself; every client of one store name shares it.
    private readonly ConcurrentDictionary<string, InprocBackend> _stores = new();

    protected override IBackend Open(string store) => new SharedStoreClient(_stores.GetOrAdd(store, _ => new InprocBackend()));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing)
            return;
        foreach (var store in _stores.Values)
            store.Dispose();
    }

    /// <summary>A client of a shared store that does not own it: disposing the client leaves the store open.</summary>
    private sealed class SharedStoreClient(InprocBackend store) : IBackend
    {
        public StoredState? Read(CancellationToken cancellationToken = default) => store.Read(cancellationToken);

        public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) => store.ReadAsync(cancellationToken);

        public long? ReadVersion(CancellationToken cancellationToken = default) => store.ReadVersion(cancellationToken);

        public ValueTask<long?> ReadVersionAsync(CancellationToken cancellationToken = default) => store.ReadVersionAsync(cancellationToken);

        public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
            store.Write(data, commitId, cancellationToken);

        public ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
            store.WriteAsync(data, commitId, cancellationToken);

        public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
            store.TryWrite(data, expectedVersion, commitId, cancellationToken);

        public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
            store.TryWriteAsync(data, expectedVersion, commitId, cancellationToken);

        public ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default) =>
            store.WaitForChangeAsync(knownVersion, timeout, cancellationToken);

        public void Dispose()
        {
            // Not the owner: the test class disposes the shared store.
        }
    }
}
