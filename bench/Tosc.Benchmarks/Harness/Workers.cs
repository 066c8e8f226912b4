using System.Collections.Concurrent;
using System.Diagnostics;

namespace Tosc.Benchmarks.Harness;

/// <summary>
/// This harness re-launched as a worker process (<c>dotnet Tosc.Benchmarks.dll --worker NAME ...</c>), talking
/// through lines: the worker prints to standard output, the parent writes commands to its standard input.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];
    private readonly ConcurrentQueue<string> _errors = new();

    private WorkerProcess(Process process) => _process = process;

    public static WorkerProcess Start(string worker, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(typeof(WorkerProcess).Assembly.Location);
        info.ArgumentList.Add("--worker");
        info.ArgumentList.Add(worker);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        var process = ChildProcesses.Start(info);
        var child = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                child._lines.CompleteAdding();
            else
                child._lines.Add(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                child._errors.Enqueue(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The next line the worker printed; throws with its standard error when it ended or went quiet.</summary>
    public string ReadLine(TimeSpan timeout)
    {
        try
        {
            if (_lines.TryTake(out var line, timeout))
                return line;
        }
        catch (InvalidOperationException)
        {
            // Completed: the worker ended.
        }
        throw new InvalidOperationException($"Worker {_process.Id} printed nothing within {timeout.TotalSeconds:0} s or ended. stderr: {string.Join(" / ", _errors.Take(20))}");
    }

    /// <summary>Reads lines until one starts with <paramref name="prefix"/>.</summary>
    public string Expect(string prefix, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = timeout - clock.Elapsed;
            var line = ReadLine(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            if (line.StartsWith(prefix, StringComparison.Ordinal))
                return line;
        }
    }

    public bool TryReadLine(TimeSpan timeout, out string? line)
    {
        try
        {
            return _lines.TryTake(out line, timeout);
        }
        catch (InvalidOperationException)
        {
            line = null;
            return false;
        }
    }

    public void Send(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            _process.WaitForExit(3000); // a worker ends when its input closes; a stuck one is killed below
            ChildProcesses.Stop(_process);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            ChildProcesses.Stop(_process);
        }
    }
}
