using Tosc.Testing;

namespace Tosc.Tests;

/// <summary>
/// The shared restart cases on a real etcd member: SIGTERM or SIGKILL in the middle of a stream of commits. etcd
/// fsyncs its WAL before it acknowledges a Txn, so every acknowledged commit survives, and a Txn is applied whole or
/// not at all; a commit whose reply was lost is settled by its commit id.
/// </summary>
public sealed class EtcdRestartTests : ServerRestartTests<EtcdServer>
{
    protected override EtcdServer StartServer() => EtcdServer.Start();

    protected override ToscBackend Open(EtcdServer server, string key, bool shortTimeout) =>
        new EtcdBackend(server.Endpoint, key, shortTimeout ? new EtcdBackendOptions { OperationTimeout = TimeSpan.FromSeconds(2) } : null);
}
