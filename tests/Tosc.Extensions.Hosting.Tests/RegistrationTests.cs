using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Tosc.Extensions.Hosting.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public async Task AddTosc_WithAFactory_RegistersTheBackendAndOneManagerOverIt()
    {
        using var host = Hosts.Build(b => b.Services.AddTosc(_ => new InprocBackend(), o => o.Retries = 3));
        await host.StartAsync();

        var manager = host.Services.GetRequiredService<Manager>();
        Assert.Same(manager, host.Services.GetRequiredService<Manager>());
        Assert.Same(host.Services.GetRequiredService<IBackend>(), manager.Backend);
        var board = await manager.ReadOrInitializeAsync(() => new Board());
        board.Visits.Increment(2);
        Assert.Equal(2, host.Services.GetRequiredService<Manager>().Read<Board>().Visits.Value);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddTosc_WithNames_RegistersKeyedStoresResolvedByName()
    {
        using var host = Hosts.Build(b =>
        {
            b.Services.AddTosc("config", _ => new InprocBackend());
            b.Services.AddTosc("jobs", _ => new InprocBackend(), o => o.Retries = 5);
            b.Services.AddSingleton<ConfigReader>();
        });
        await host.StartAsync();

        var config = host.Services.GetRequiredKeyedService<Manager>("config");
        var jobs = host.Services.GetRequiredKeyedService<Manager>("jobs");
        Assert.NotSame(config, jobs);
        Assert.NotSame(config.Backend, jobs.Backend);
        Assert.Same(config.Backend, host.Services.GetRequiredKeyedService<IBackend>("config"));
        Assert.Same(config, host.Services.GetRequiredService<ConfigReader>().Manager);
        Assert.Null(host.Services.GetService<Manager>());
        await host.StopAsync();
    }

    [Fact]
    public void AddTosc_TheSameNameTwice_Throws()
    {
        var services = new ServiceCollection();
        services.AddTosc("config", _ => new InprocBackend());
        var e = Assert.Throws<InvalidOperationException>(() => services.AddTosc("config", _ => new InprocBackend()));
        Assert.Contains("'config'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_WhileRunning_AppliesOtherManagersCommits_AndWhenStopped_DisposesTheManagers()
    {
        var store = new RecordingBackend();
        using var host = Hosts.Build(b => b.Services.AddTosc(_ => store));
        await host.StartAsync();
        var manager = host.Services.GetRequiredService<Manager>();
        store.Manager = manager;
        var board = await manager.ReadOrInitializeAsync(() => new Board());

        using (var other = new Manager(store))
            other.Read<Board>().Notes["from"] = "other";
        await Eventually(() => board.Notes.ContainsKey("from"));

        await host.StopAsync();
        Assert.Throws<ObjectDisposedException>(() => manager.Read<Board>());
        Assert.False(store.Disposed);   // the container disposes the backend with itself, not at stop
        host.Dispose();
        Assert.True(store.Disposed);
        Assert.True(store.ManagerWasDisposedFirst);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Container_WhenDisposed_DisposesTheManagerBeforeTheBackendItOwns(bool async)
    {
        var services = new ServiceCollection();
        var backend = new RecordingBackend();
        services.AddTosc(_ => backend);
        var provider = services.BuildServiceProvider();
        var manager = provider.GetRequiredService<Manager>();
        backend.Manager = manager;

        if (async)
            await provider.DisposeAsync();
        else
            provider.Dispose();

        Assert.True(backend.Disposed);
        Assert.True(backend.ManagerWasDisposedFirst);
    }

    [Fact]
    public async Task Container_NeverBuiltTheStore_DisposesNothing()
    {
        var backend = new RecordingBackend();
        var services = new ServiceCollection();
        services.AddTosc(_ => backend);
        await services.BuildServiceProvider().DisposeAsync();
        Assert.False(backend.Disposed);
    }

    internal static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not become true within 10 s.");
            await Task.Delay(20);
        }
    }

    public sealed class ConfigReader([FromKeyedServices("config")] Manager manager)
    {
        public Manager Manager { get; } = manager;
    }

    /// <summary>An in-process store that records, when it is disposed, whether its manager already was.</summary>
    private sealed class RecordingBackend : IBackend
    {
        private readonly InprocBackend _inner = new();

        public Manager? Manager { get; set; }

        public bool Disposed { get; private set; }

        public bool ManagerWasDisposedFirst { get; private set; }

        public StoredState? Read(CancellationToken cancellationToken = default) => _inner.Read(cancellationToken);

        public ValueTask<StoredState?> ReadAsync(CancellationToken cancellationToken = default) => _inner.ReadAsync(cancellationToken);

        public long? ReadVersion(CancellationToken cancellationToken = default) => _inner.ReadVersion(cancellationToken);

        public ValueTask<long?> ReadVersionAsync(CancellationToken cancellationToken = default) => _inner.ReadVersionAsync(cancellationToken);

        public long? TryWrite(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
            _inner.TryWrite(data, expectedVersion, commitId, cancellationToken);

        public ValueTask<long?> TryWriteAsync(ReadOnlyMemory<byte> data, long? expectedVersion, Guid commitId, CancellationToken cancellationToken = default) =>
            _inner.TryWriteAsync(data, expectedVersion, commitId, cancellationToken);

        public long Write(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) => _inner.Write(data, commitId, cancellationToken);

        public ValueTask<long> WriteAsync(ReadOnlyMemory<byte> data, Guid commitId, CancellationToken cancellationToken = default) =>
            _inner.WriteAsync(data, commitId, cancellationToken);

        public ValueTask<long?> WaitForChangeAsync(long? knownVersion, TimeSpan timeout, CancellationToken cancellationToken = default) =>
            _inner.WaitForChangeAsync(knownVersion, timeout, cancellationToken);

        public void Dispose()
        {
            Disposed = true;
            try
            {
                Manager?.Read();
            }
            catch (ObjectDisposedException)
            {
                ManagerWasDisposedFirst = true;
            }
            _inner.Dispose();
        }
    }
}
