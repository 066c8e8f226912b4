using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Tosc.Extensions.Hosting.Tests;

/// <summary>Real hosts (Host.CreateApplicationBuilder) with configuration given as key/value pairs, and scratch directories.</summary>
internal static class Hosts
{
    public static IHost Build(Action<HostApplicationBuilder> configure, params (string Key, string? Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        configure(builder);
        return builder.Build();
    }

    public static IHost FromConfiguration(params (string Key, string? Value)[] settings) =>
        Build(b => b.Services.AddTosc(b.Configuration.GetSection("Tosc")), settings);

}

/// <summary>A fresh directory under the temporary folder, removed with its content on dispose (if still there).</summary>
internal sealed class ScratchDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("tosc-hosting-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}

/// <summary>A root with a counter and a dictionary.</summary>
public class Board
{
    public virtual DCounter Visits { get; set; } = new();

    public virtual IDictionary<string, string> Notes { get; set; } = new Dictionary<string, string>();
}
