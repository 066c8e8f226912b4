using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Tosc;

// Uses the packages as an application would: each check throws when something is wrong, so the exit code tells CI.
var version = typeof(Manager).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
var directory = Directory.CreateTempSubdirectory("tosc-consumer-");
try
{
    // The embedded in-process backend: two managers over one store.
    using (var store = new InprocBackend())
    using (var a = new Manager(store))
    using (var b = new Manager(store))
    {
        var cart = a.ReadOrInitialize(() => new Cart());
        using (var tx = a.Transaction())
        {
            cart.Items["apples"] = 3;
            cart.Total.Increment(3);
            tx.Commit();
        }
        Check(b.Read<Cart>().Items["apples"] == 3 && b.Read<Cart>().Total.Value == 3, "in-process: the other manager reads the commit");
    }

    // The file backend: a second backend over the same file, as another process would open it.
    var path = Path.Combine(directory.FullName, "cart.tosc");
    using (var first = new FileBackend(path))
    using (var second = new FileBackend(path))
    using (var a = new Manager(first))
    using (var b = new Manager(second))
    {
        a.ReadOrInitialize(() => new Cart()).Items["pears"] = 2;
        Check(b.Refresh<Cart>().Items["pears"] == 2, "file: the other backend reads the commit");
    }

    // The hosting package: configuration, the lifecycle service and the health check.
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Tosc:Backend"] = "File", ["Tosc:Path"] = path });
    builder.Services.AddTosc(builder.Configuration.GetSection("Tosc"));
    builder.Services.AddHealthChecks().AddTosc();
    using (var host = builder.Build())
    {
        await host.StartAsync();
        var cart = await host.Services.GetRequiredService<Manager>().ReadAsync<Cart>();
        Check(cart.Items["pears"] == 2, "hosting: the configured file store holds the earlier commit");
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Check(report.Status == HealthStatus.Healthy, $"hosting: the health check is healthy ({report.Status})");
        await host.StopAsync();
    }
    Console.WriteLine($"package consumer: Tosc {version} packages work (in-process, file, hosting)");
}
finally
{
    directory.Delete(recursive: true);
}

static void Check(bool condition, string what)
{
    if (!condition)
        throw new InvalidOperationException("Failed: " + what);
    Console.WriteLine("ok: " + what);
}

public class Cart
{
    public virtual IDictionary<string, int> Items { get; set; } = new Dictionary<string, int>();

    public virtual DCounter Total { get; set; } = new();
}
