using System.Diagnostics;
using System.Text.Json;
using Tosc.Cli;
using Tosc.Cli.Stores;
using Xunit;

namespace Tosc.Tests.Tool;

/// <summary>The result of one run of the tool.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    public JsonElement Json => JsonDocument.Parse(Out).RootElement;

    public CliResult Ok()
    {
        Assert.True(ExitCode == 0, $"exit code {ExitCode}; stderr: {Error}; stdout: {Out}");
        return this;
    }
}

/// <summary>Runs the tool in-process (<see cref="Cli.RunAsync"/>) or as a child process (<c>dotnet exec Tosc.Cli.dll</c>).</summary>
internal static class CliRun
{
    public static CliResult Run(params string[] args) => RunWith(new Dictionary<string, string?>(), args);

    public static CliResult RunWith(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        RunAsync(environment, null, CancellationToken.None, args).GetAwaiter().GetResult();

    public static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string?> environment, IReadOnlyList<IStoreScheme>? schemes, CancellationToken cancellationToken, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var context = new CliContext
        {
            Out = TextWriter.Synchronized(output),
            Error = TextWriter.Synchronized(error),
            Environment = name => environment.GetValueOrDefault(name),
            Schemes = schemes ?? StoreSchemes.BuiltIn,
        };
        var code = await Tosc.Cli.Cli.RunAsync(args, context, cancellationToken);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>Runs the built tool in a child process, as a user would.</summary>
    public static CliResult Process(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Tosc.Cli.dll"));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment.Remove(Tosc.Cli.Cli.KeyVariable); // the tests' own, not the machine's
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            start.Environment[name] = value;
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"tosc {string.Join(' ', args)} did not end within 60 s");
        }
        return new CliResult(process.ExitCode, output.Result, error.Result);
    }
}
