using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Tosc.Extensions.Hosting.Tests;

public sealed class HealthCheckTests
{
    [Fact]
    public async Task Check_OnAFileStoreTheManagerFollows_IsHealthy()
    {
        using var dir = new ScratchDirectory();
        using var host = Hosts.Build(b =>
        {
            b.Services.AddHealthChecks().AddTosc();
            b.Services.AddTosc(_ => new FileBackend(dir.File("state.tosc")));
        });
        await host.StartAsync();
        (await host.Services.GetRequiredService<Manager>().ReadOrInitializeAsync(() => new Board())).Visits.Increment(1);

        var report = await Check(host);
        var entry = report.Entries["tosc"];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal(entry.Data["storedVersion"], entry.Data["appliedVersion"]);
        Assert.Contains("tosc", entry.Tags);
        await host.StopAsync();
    }

    [Fact]
    public async Task Check_AfterTheStoreDirectoryWasRemoved_IsUnhealthy()
    {
        using var dir = new ScratchDirectory();
        using var host = Hosts.Build(b =>
        {
            b.Services.AddTosc(_ => new FileBackend(dir.File("state.tosc")));
            b.Services.AddHealthChecks().AddTosc();
        });
        await host.StartAsync();
        (await host.Services.GetRequiredService<Manager>().ReadOrInitializeAsync(() => new Board())).Visits.Increment(1);
        Directory.Delete(dir.Path, recursive: true);

        var entry = (await Check(host)).Entries["tosc"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains(dir.Path, entry.Description, StringComparison.Ordinal);
        await host.StopAsync();
    }

    [Fact]
    public async Task Check_OfARedisStoreNothingListensFor_IsUnhealthy_AndNamesTheStore()
    {
        var port = FreePort();
        using var host = Hosts.Build(
            b =>
            {
                b.Services.AddTosc("redis", b.Configuration.GetSection("Tosc"));
                b.Services.AddHealthChecks().AddTosc(o => o.Timeout = TimeSpan.FromSeconds(3));
            },
            ("Tosc:Backend", "Redis"), ("Tosc:ConnectionString", $"127.0.0.1:{port}"), ("Tosc:Key", "health"),
            ("Tosc:Options:ConnectTimeout", "00:00:01"));

        var entry = (await Check(host)).Entries["tosc:redis"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.StartsWith("The store cannot be reached", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_OfAManagerBehindTheStoreForLongerThanMaxLag_FailsWithHowFarBehind()
    {
        var store = new InprocBackend();
        using var host = Hosts.Build(b =>
        {
            // Not watching: the manager stays where it read, as a stalled watcher would.
            b.Services.AddTosc(_ => store, o => o.WatchForChanges = false);
            b.Services.AddHealthChecks().AddTosc(o =>
            {
                o.MaxLag = TimeSpan.FromMilliseconds(200);
                o.FailureStatus = HealthStatus.Degraded;
            });
        });
        await host.StartAsync();
        await host.Services.GetRequiredService<Manager>().ReadOrInitializeAsync(() => new Board());
        using (var other = new Manager(store))
        {
            var board = other.Read<Board>();
            board.Visits.Increment(1);
            board.Visits.Increment(1);
        }

        var first = (await Check(host)).Entries["tosc"];
        Assert.Equal(HealthStatus.Healthy, first.Status);
        Assert.Equal(2L, first.Data["versionsBehind"]);
        await Task.Delay(300);
        var later = (await Check(host)).Entries["tosc"];
        Assert.Equal(HealthStatus.Degraded, later.Status);
        Assert.Contains("(2 behind)", later.Description, StringComparison.Ordinal);

        await host.Services.GetRequiredService<Manager>().RefreshAsync();
        Assert.Equal(HealthStatus.Healthy, (await Check(host)).Entries["tosc"].Status);
        await host.StopAsync();
    }

    [Fact]
    public async Task Check_WithMaxVersionsBehind_FailsAtOnceWhenFurtherBehind()
    {
        var store = new InprocBackend();
        using var host = Hosts.Build(b =>
        {
            b.Services.AddTosc(_ => store, o => o.WatchForChanges = false);
            b.Services.AddHealthChecks().AddTosc(o => o.MaxVersionsBehind = 1);
        });
        await host.StartAsync();
        await host.Services.GetRequiredService<Manager>().ReadOrInitializeAsync(() => new Board());
        using (var other = new Manager(store))
        {
            other.Read<Board>().Visits.Increment(1);
            other.Read<Board>().Visits.Increment(1);
        }
        Assert.Equal(HealthStatus.Unhealthy, (await Check(host)).Entries["tosc"].Status);
        await host.StopAsync();
    }

    [Fact]
    public async Task Check_OfAManagerThatCannotApplyTheStoredState_IsUnhealthy()
    {
        var store = new InprocBackend();
        using var host = Hosts.Build(b =>
        {
            b.Services.AddTosc(_ => store);
            b.Services.AddHealthChecks().AddTosc();
        });
        await host.StartAsync();
        await host.Services.GetRequiredService<Manager>().ReadOrInitializeAsync(() => new Board());
        using (var other = new Manager(store))
            other.Write(new Unknown());   // a type the hosted manager was never told about

        await RegistrationTests.Eventually(() => Check(host).Result.Entries["tosc"].Status == HealthStatus.Unhealthy);
        Assert.StartsWith("The manager cannot apply the stored state", (await Check(host)).Entries["tosc"].Description, StringComparison.Ordinal);
        await host.StopAsync();
    }

    private static Task<HealthReport> Check(IHost host) => host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public class Unknown
{
    public virtual string Name { get; set; } = "";
}
