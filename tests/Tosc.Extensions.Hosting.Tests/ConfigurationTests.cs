using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Tosc.Extensions.Hosting.Tests;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task AddTosc_FromAFileSection_BindsThePathAndTheBackendOptions()
    {
        using var dir = new ScratchDirectory();
        var path = dir.File("state.tosc");
        using var host = Hosts.FromConfiguration(
            ("Tosc:Backend", "File"), ("Tosc:Path", path),
            ("Tosc:Options:PollInterval", "00:00:00.250"), ("Tosc:Options:Fsync", "false"),
            ("Tosc:Manager:Retries", "3"));
        await host.StartAsync();

        var backend = Assert.IsType<FileBackend>(host.Services.GetRequiredService<IBackend>());
        Assert.Equal(path, backend.FilePath);
        Assert.Equal(TimeSpan.FromMilliseconds(250), backend.PollInterval);
        var manager = host.Services.GetRequiredService<Manager>();
        (await manager.ReadOrInitializeAsync(() => new Board())).Notes["k"] = "v";
        Assert.True(File.Exists(path));
        await host.StopAsync();
    }

    [Fact]
    public async Task AddTosc_FromAnInprocSection_NeedsNoOtherSetting()
    {
        using var host = Hosts.FromConfiguration(("Tosc:Backend", "inproc"));
        await host.StartAsync();
        Assert.IsType<InprocBackend>(host.Services.GetRequiredService<Manager>().Backend);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddTosc_FromNamedSections_RegistersAKeyedStoreEach()
    {
        using var dir = new ScratchDirectory();
        using var host = Hosts.Build(
            b =>
            {
                b.Services.AddTosc("config", b.Configuration.GetSection("Tosc:config"));
                b.Services.AddTosc("cache", b.Configuration.GetSection("Tosc:cache"));
            },
            ("Tosc:config:Backend", "File"), ("Tosc:config:Path", dir.File("config.tosc")),
            ("Tosc:cache:Backend", "Inproc"));
        await host.StartAsync();
        Assert.IsType<FileBackend>(host.Services.GetRequiredKeyedService<Manager>("config").Backend);
        Assert.IsType<InprocBackend>(host.Services.GetRequiredKeyedService<Manager>("cache").Backend);
        await host.StopAsync();
    }

    [Theory]
    [InlineData("File", "'Tosc:Path' is missing")]
    [InlineData("Redis", "'Tosc:ConnectionString', 'Tosc:Key' are missing")]
    [InlineData(null, "'Tosc:Backend' is missing")]
    [InlineData("Postgres", "package Tosc.Backends.Postgres, which this application does not reference")]
    [InlineData("Mongo", "'Tosc:Backend' is 'Mongo', which is no backend")]
    public async Task Host_WithBadConfiguration_FailsAtStartNamingWhatToFix(string? backend, string expected)
    {
        using var host = Hosts.FromConfiguration(("Tosc:Backend", backend));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_WithAMisspelledOption_FailsAtStartNamingIt()
    {
        using var host = Hosts.FromConfiguration(("Tosc:Backend", "Inproc"), ("Tosc:Manager:Retrys", "3"));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("Retrys", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_WithAFileInAMissingDirectory_FailsAtStartNamingTheDirectory()
    {
        var missing = Path.Combine(Path.GetTempPath(), "tosc-hosting-missing-" + Guid.NewGuid().ToString("N"));
        using var host = Hosts.FromConfiguration(("Tosc:Backend", "File"), ("Tosc:Path", Path.Combine(missing, "state.tosc")));
        var e = await Assert.ThrowsAsync<BackendException>(() => host.StartAsync());
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }
}
