using System.Collections.Concurrent;
using Tosc.Testing;

namespace Tosc.Tests.Backends;

/// <summary>Runs the shared backend contract suite against <see cref="InprocBackend"/>.</summary>
public sealed class InprocBackendContractTests : BackendContractTests
{
    // An InprocBackend is the store itself; every client of one store name shares it.
    private readonly ConcurrentDictionary<string, InprocBackend> _stores = new();

    // A client of a shared store does not own it: disposing the client leaves the store open.
    protected override IBackend Open(string store) => new ForwardingBackend(_stores.GetOrAdd(store, _ => new InprocBackend()));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing)
            return;
        foreach (var store in _stores.Values)
            store.Dispose();
    }
}
