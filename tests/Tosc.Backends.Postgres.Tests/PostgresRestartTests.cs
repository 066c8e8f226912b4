using Tosc.Testing;

namespace Tosc.Tests;

/// <summary>
/// The shared restart cases on a real PostgreSQL: a fast shutdown (open transactions roll back, connections close) or
/// a SIGKILL of the postmaster (crash recovery from the WAL). A commit is one statement in its own transaction, so
/// every acknowledged commit survives and every other one is either wholly there or wholly absent.
/// </summary>
public sealed class PostgresRestartTests : ServerRestartTests<PostgresServer>
{
    protected override PostgresServer StartServer() => PostgresServer.Start();

    protected override ToscBackend Open(PostgresServer server, string key, bool shortTimeout) =>
        new PostgresBackend(server.ConnectionString, key, shortTimeout ? new PostgresBackendOptions { CommandTimeout = TimeSpan.FromSeconds(2) } : null);
}
