using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace Tosc.Testing;

/// <summary>
/// A real child process running a test assembly's worker entry point (<c>dotnet TheTests.dll worker ...</c>).
/// Its standard output is collected line by line so a test can wait for what it prints.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = new();
    private readonly ConcurrentQueue<string> _all = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private ChildProcess(Process process) => _process = process;

    /// <summary>Starts <c>dotnet &lt;assembly&gt; args...</c>; pass the test assembly to run its Program.Main.</summary>
    public static ChildProcess Start(Assembly assembly, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(assembly.Location);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                child._lines.CompleteAdding();
                return;
            }
            child._all.Enqueue(e.Data);
            child._lines.Add(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                child._errors.Enqueue(e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The operating system's process id.</summary>
    public int Id => _process.Id;

    /// <summary>Every line printed so far on standard output.</summary>
    public IReadOnlyCollection<string> Output => _all.ToArray();

    /// <summary>Everything printed on standard error so far.</summary>
    public string Errors => string.Join(Environment.NewLine, _errors);

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Writes a line to the child's standard input.</summary>
    public void Send(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Waits for a printed line that satisfies <paramref name="match"/> and returns it.</summary>
    public string WaitForLine(Func<string, bool> match, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? Eventually.DefaultDeadline;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = limit - clock.Elapsed;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"Child {Id} did not print {what} within {limit.TotalSeconds:0} s. stderr: {Errors}");
            if (_lines.TryTake(out var line, left))
            {
                if (match(line))
                    return line;
            }
            else if (_lines.IsCompleted)
            {
                throw new InvalidOperationException($"Child {Id} ended (exit code {ExitCodeOrNull()}) before printing {what}. stderr: {Errors}");
            }
        }
    }

    /// <summary>Waits for the process to end and returns its exit code.</summary>
    public int WaitForExit(TimeSpan? deadline = null)
    {
        var limit = deadline ?? Eventually.DefaultDeadline;
        if (!_process.WaitForExit(limit))
            throw new TimeoutException($"Child {Id} still running after {limit.TotalSeconds:0} s. stderr: {Errors}");
        _process.WaitForExit(); // drains the output handlers
        return _process.ExitCode;
    }

    /// <summary>Kills the process at once (SIGKILL on Linux) and waits for it to be gone.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        if (_process.WaitForExit(TimeSpan.FromSeconds(30)))
            _process.WaitForExit(); // drains the output handlers, so every line printed before the kill is seen
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_process.HasExited)
            Kill();
        _process.Dispose();
        _lines.Dispose();
    }

    private int? ExitCodeOrNull() => _process.HasExited ? _process.ExitCode : null;
}

/// <summary>Loopback network helpers for tests that start servers.</summary>
public static class Loopback
{
    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Whether something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
