using Npgsql;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

/// <summary>What is particular to the PostgreSQL backend: options, ownership of the data source, the tables.</summary>
public sealed class PostgresBackendTests(PostgresServerFixture fixture) : IClassFixture<PostgresServerFixture>
{
    private static string Me([System.Runtime.CompilerServices.CallerMemberName] string test = "") => $"{test}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Dispose_LeavesTheCallersDataSourceOpen()
    {
        using var dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString);
        var backend = new PostgresBackend(dataSource, Me());
        backend.Write(new byte[] { 1, 2, 3 }, Guid.NewGuid());
        await backend.WaitForChangeAsync(null, TimeSpan.Zero); // starts the listener too

        backend.Dispose();

        using var command = dataSource.CreateCommand("SELECT 1");
        Assert.Equal(1, command.ExecuteScalar());
    }

    [Fact]
    public async Task Dispose_OfABackendWithItsOwnPool_StopsListeningAndRefusesCalls()
    {
        var backend = new PostgresBackend(fixture.Server.ConnectionString, Me());
        await backend.WaitForChangeAsync(null, TimeSpan.Zero);

        backend.Dispose();

        Assert.Throws<ObjectDisposedException>(() => backend.Read());
    }

    [Fact]
    public void WithoutCreateTables_AMissingTable_IsAClearPermanentError()
    {
        using var backend = new PostgresBackend(fixture.Server.ConnectionString, Me(), new PostgresBackendOptions { TablePrefix = "missing_", CreateTables = false });

        var e = Assert.Throws<BackendException>(() => backend.Read());

        Assert.False(e.IsTransient);
        Assert.Contains("docs/postgres-backend.md", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnreachableServer_IsATransientError()
    {
        using var backend = new PostgresBackend($"Host=127.0.0.1;Port={Loopback.FreePort()};Username=postgres;Timeout=2", Me());

        var e = Assert.Throws<BackendException>(() => backend.ReadVersion());

        Assert.True(e.IsTransient);
    }

    [Theory]
    [InlineData("Bad", "tosc_")]
    [InlineData(null, "Tosc")]
    [InlineData(null, "a-b")]
    [InlineData("1schema", "tosc_")]
    public void Options_WithNamesThatAreNotPlainLowercase_AreRefused(string? schema, string prefix) =>
        Assert.Throws<ArgumentException>(() => new PostgresBackend(fixture.Server.ConnectionString, "k", new PostgresBackendOptions { Schema = schema, TablePrefix = prefix }));

    [Fact]
    public void Commits_NotifyTheChannelWithKeyAndVersion()
    {
        var key = Me();
        using var backend = new PostgresBackend(fixture.Server.ConnectionString, key);
        backend.ReadVersion(); // creates the tables
        using var listener = new NpgsqlConnection(fixture.Server.ConnectionString);
        listener.Open();
        var payloads = new List<string>();
        listener.Notification += (_, e) => payloads.Add($"{e.Channel} {e.Payload}");
        using (var listen = new NpgsqlCommand("LISTEN tosc_changes", listener))
            listen.ExecuteNonQuery();

        var version = backend.Write(new byte[] { 1 }, Guid.NewGuid());
        Assert.True(listener.Wait(TimeSpan.FromSeconds(10)));

        Assert.Equal([$"tosc_changes {key}:{version}"], payloads);
    }

    [Fact]
    public async Task Listener_WhenItsConnectionIsTerminated_ReconnectsAndHearsLaterCommits()
    {
        var key = Me();
        // An hour between polls: only the notification (or the reconnect's wake-up) can end the wait promptly.
        using var waiter = new PostgresBackend(fixture.Server.ConnectionString, key, new PostgresBackendOptions { PollInterval = TimeSpan.FromHours(1) });
        using var writer = new PostgresBackend(fixture.Server.ConnectionString, key);
        var version = writer.Write(new byte[] { 1 }, Guid.NewGuid());
        Assert.Equal(version, await waiter.WaitForChangeAsync(null, TimeSpan.FromSeconds(10))); // starts listening

        Assert.True(Terminate("LISTEN%") > 0);
        Eventually.True(() => Count("LISTEN%") > 0, "the listener listening again on a new connection");
        var wait = waiter.WaitForChangeAsync(version, TimeSpan.FromHours(1)).AsTask();
        var next = writer.Write(new byte[] { 2 }, Guid.NewGuid());

        Assert.Equal(next, await Eventually.Within(wait, "the waiter hearing the commit after the reconnect", TimeSpan.FromSeconds(10)));
    }

    private long Terminate(string query) =>
        Scalar($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '{query}' AND pid <> pg_backend_pid()");

    private long Count(string query) =>
        Scalar($"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '{query}' AND pid <> pg_backend_pid()");

    private long Scalar(string sql)
    {
        using var connection = new NpgsqlConnection(fixture.Server.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        return (long)command.ExecuteScalar()!;
    }
}
