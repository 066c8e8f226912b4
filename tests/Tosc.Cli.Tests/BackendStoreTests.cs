using Azure.Storage.Blobs;
using Tosc.Cli.Stores;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Tool;

/// <summary>A temporary directory per test class, deleted at the end.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "tosc-cli-tests", Guid.NewGuid().ToString("N"))).FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name + ".tosc");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still be closing a file; the system cleans the temporary folder.
        }
    }
}

public sealed class FileCliTests(TempFolder folder) : CliStoreTests, IClassFixture<TempFolder>
{
    protected override string Uri(string name) => "file:" + folder.File(name);

    protected override IBackend Open(string name) => new FileBackend(folder.File(name));
}

public sealed class RedisCliTests(RedisServerFixture fixture) : CliStoreTests, IClassFixture<RedisServerFixture>
{
    protected override string Uri(string name) => $"redis://127.0.0.1:{fixture.Server.Port}/cli:{name}";

    protected override IBackend Open(string name) => new RedisBackend(fixture.Server.Configuration, "cli:" + name);
}

public sealed class PostgresCliTests(PostgresServerFixture fixture) : CliStoreTests, IClassFixture<PostgresServerFixture>
{
    protected override string Uri(string name) => $"postgres://postgres@127.0.0.1:{fixture.Server.Port}/postgres?key={name}";

    protected override IBackend Open(string name) => new PostgresBackend(fixture.Server.ConnectionString, name);
}

public sealed class EtcdCliTests(EtcdServerFixture fixture) : CliStoreTests, IClassFixture<EtcdServerFixture>
{
    protected override string Uri(string name) => $"etcd://127.0.0.1:{fixture.Server.Port}/cli/{name}";

    protected override IBackend Open(string name) => new EtcdBackend(fixture.Server.Endpoint, "cli/" + name);
}

/// <summary>Azurite with one container for the class's stores.</summary>
public sealed class AzuriteContainerFixture : IDisposable
{
    public AzuriteContainerFixture()
    {
        // The backend's client options (a service version Azurite accepts) with the SDK's retries back on: set-up on a
        // loaded machine may meet a first request that Azurite drops while it finishes starting.
        var options = BlobBackend.CreateClientOptions();
        options.Retry.MaxRetries = 5;
        new BlobContainerClient(Server.ConnectionString, Container, options).Create();
    }

    public AzuriteServer Server { get; } = AzuriteServer.Start();

    public string Container { get; } = "cli" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Server.Dispose();
}

public sealed class BlobCliTests(AzuriteContainerFixture fixture) : CliStoreTests, IClassFixture<AzuriteContainerFixture>
{
    protected override string Uri(string name) => $"azblob://{fixture.Container}/{name}";

    protected override IBackend Open(string name) => new BlobBackend(fixture.Server.ConnectionString, fixture.Container, name);

    protected override IReadOnlyDictionary<string, string?> Environment =>
        new Dictionary<string, string?> { [StoreSchemes.BlobConnectionVariable] = fixture.Server.ConnectionString };
}
