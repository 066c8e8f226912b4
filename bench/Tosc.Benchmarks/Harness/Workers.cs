using Tosc.Testing;

namespace Tosc.Benchmarks.Harness;

/// <summary>
/// This harness re-launched as a worker process (<c>dotnet Tosc.Benchmarks.dll --worker NAME ...</c>), talking
/// through lines: the worker prints to standard output, the parent writes commands to its standard input.
/// </summary>
internal static class WorkerProcess
{
    public static ChildProcess Start(string worker, params string[] args) =>
        ChildProcess.Start(typeof(WorkerProcess).Assembly, ["--worker", worker, .. args], onOutput: null, errorLog: null);
}
