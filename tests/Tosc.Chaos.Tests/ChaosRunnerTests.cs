using System.Text.RegularExpressions;
using Tosc.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tosc.Tests.Chaos;

/// <summary>
/// Runs the chaos runner's short profile against each backend (issue 7): worker processes, SIGKILLs, a killed lock
/// holder (file), server restarts (redis-server, Azurite, PostgreSQL; an etcd leader; a Redis Cluster master, failed
/// over), lost replies; then every check on the store must pass.
/// One class, so the runs take turns on the machine instead of competing with each other.
/// </summary>
public partial class ChaosRunnerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(4);

    [Theory]
    [InlineData("inproc")]
    [InlineData("file")]
    [InlineData("redis")]
    [InlineData("blob")]
    [InlineData("etcd")]
    [InlineData("postgres")]
    [InlineData("redis-cluster")]
    public void ShortProfile_PassesEveryCheck(string backend) => PassesEveryCheck(backend, "--backend", backend, "--short", "--lost-replies", "0.01");

    /// <summary>
    /// The contention-heavy profile: every transaction reads and writes the same counter and a couple of keys, with
    /// Tosc's default retries, under the same faults: no transaction may give up, and every check holds.
    /// </summary>
    [Theory]
    [InlineData("inproc")]
    [InlineData("file")]
    [InlineData("redis")]
    [InlineData("blob")]
    public void ContentionProfile_WithDefaultRetries_PassesEveryCheck(string backend)
    {
        var output = PassesEveryCheck(backend, "--backend", backend, "--short", "--contention", "--lost-replies", "0.01");
        Assert.Contains(output, line => line.StartsWith("figures: ", StringComparison.Ordinal) && line.Contains(" failed=0 ", StringComparison.Ordinal));
    }

    private IReadOnlyCollection<string> PassesEveryCheck(string backend, params string[] arguments)
    {
        using var runner = ChildProcess.Start(typeof(Tosc.Chaos.Program).Assembly, arguments);
        var exitCode = runner.WaitForExit(Deadline);

        foreach (var line in runner.Output)
            output.WriteLine(line);
        if (runner.Errors.Length > 0)
            output.WriteLine("stderr: " + runner.Errors);
        var summary = runner.Output.LastOrDefault(line => Summary().IsMatch(line)) ?? "";
        Assert.True(exitCode == 0 && summary.EndsWith(" 0 failed", StringComparison.Ordinal),
            $"the chaos run on {backend} failed (exit code {exitCode}): {string.Join(" | ", runner.Output.Where(l => l.StartsWith("FAIL", StringComparison.Ordinal)))}");
        Assert.Matches(@"^1[0-9] passed, 0 failed$", summary);
        Assert.Contains(runner.Output, line => line.StartsWith("faults: ", StringComparison.Ordinal) && !line.StartsWith("faults: none", StringComparison.Ordinal));
        return runner.Output;
    }

    [Fact]
    public void Runner_WithBadArguments_ExitsWithUsageErrorNamingTheOption()
    {
        using var runner = ChildProcess.Start(typeof(Tosc.Chaos.Program).Assembly, "--backend", "cassandra", "--short");

        Assert.Equal(2, runner.WaitForExit());
        Assert.Contains("--backend cassandra", runner.Errors, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^\d+ passed, \d+ failed$")]
    private static partial Regex Summary();
}
