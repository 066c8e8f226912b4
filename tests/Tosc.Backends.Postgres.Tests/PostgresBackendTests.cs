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
}
