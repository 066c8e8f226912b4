using Npgsql;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>
/// The shared backend contract, each client with its own pool (the connection-string constructor), on a real
/// PostgreSQL server that the manager-level cases restart; child processes open the store through <see cref="Program"/>.
/// </summary>
public sealed class PostgresBackendContractTests(PostgresServerFixture fixture) : BackendContractTests, IClassFixture<PostgresServerFixture>
{
    protected override IBackend Open(string store) => new PostgresBackend(fixture.Server.ConnectionString, store);

    protected override System.Reflection.Assembly WorkerAssembly => typeof(PostgresBackendContractTests).Assembly;

    protected override string WorkerStore(string store) => $"{fixture.Server.ConnectionString}|{store}";

    protected override bool CanRestartServer => true;

    protected override void RestartServer() => fixture.Server.Restart();

    /// <summary>Opens what <see cref="WorkerStore"/> names, in a child process.</summary>
    internal static IBackend OpenWorkerStore(string store)
    {
        var split = store.LastIndexOf('|');
        return new PostgresBackend(store[..split], store[(split + 1)..]);
    }
}

/// <summary>
/// The shared backend contract with every client on one caller-owned data source, in a schema of its own with another
/// table prefix: the backends share one pool and one channel and must still hear each other's commits.
/// </summary>
public sealed class PostgresBackendSharedDataSourceContractTests : BackendContractTests, IClassFixture<PostgresServerFixture>
{
    private static readonly PostgresBackendOptions Options = new() { Schema = "shared", TablePrefix = "app_" };
    private readonly NpgsqlDataSource _dataSource;

    public PostgresBackendSharedDataSourceContractTests(PostgresServerFixture fixture)
    {
        _dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString);
        using var command = _dataSource.CreateCommand("CREATE SCHEMA IF NOT EXISTS shared");
        command.ExecuteNonQuery();
    }

    protected override IBackend Open(string store) => new PostgresBackend(_dataSource, store, Options);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            _dataSource.Dispose();
    }
}
