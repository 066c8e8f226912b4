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
    public static ChildProcess Start(Assembly assembly, params string[] args) => Start(assembly, args, onOutput: null, errorLog: null);

    /// <summary>
    /// Starts <c>dotnet &lt;assembly&gt; args...</c>. <paramref name="onOutput"/> sees every line as it is printed;
    /// <paramref name="errorLog"/>, when given, receives standard error (else it is kept for <see cref="Errors"/>).
    /// Every child still running when this process exits is killed.
    /// </summary>
    public static ChildProcess Start(Assembly assembly, IEnumerable<string> args, Action<string>? onOutput, TextWriter? errorLog) =>
        Start(assembly, args, environment: null, onOutput, errorLog);

    /// <summary>
    /// Starts <c>dotnet &lt;assembly&gt; args...</c> with <paramref name="environment"/> added to the inherited environment
    /// (a <see langword="null"/> value removes the variable), e.g. <c>TZ</c> to run the child in another time zone.
    /// </summary>
    public static ChildProcess Start(Assembly assembly, IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment) =>
        Start(assembly, args, environment, onOutput: null, errorLog: null);

    private static ChildProcess Start(Assembly assembly, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment, Action<string>? onOutput, TextWriter? errorLog)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
                info.Environment.Remove(name);
            else
                info.Environment[name] = value;
        }
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
            onOutput?.Invoke(e.Data);
            child._lines.Add(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            if (errorLog is null)
            {
                child._errors.Enqueue(e.Data);
                return;
            }
            lock (errorLog)
                errorLog.WriteLine(e.Data);
        };
        process.Start();
        ExitGuard.Track(process);
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

    /// <summary>Writes a line to the child's standard input; returns <see langword="false"/> when the child is gone.</summary>
    public bool TrySend(string line)
    {
        try
        {
            if (_process.HasExited)
                return false;
            Send(line);
            return true;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            return false; // it died meanwhile
        }
    }

    /// <summary>Waits for a printed line that starts with <paramref name="prefix"/> and returns it.</summary>
    public string Expect(string prefix, TimeSpan? deadline = null) =>
        WaitForLine(line => line.StartsWith(prefix, StringComparison.Ordinal), $"a line starting with '{prefix}'", deadline);

    /// <summary>Waits for a printed line that satisfies <paramref name="match"/>; <see langword="null"/> when the child ended or the deadline passed first.</summary>
    public string? TryWaitForLine(Func<string, bool> match, TimeSpan deadline)
    {
        ArgumentNullException.ThrowIfNull(match);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = deadline - clock.Elapsed;
            if (left <= TimeSpan.Zero)
                return null;
            try
            {
                if (_lines.TryTake(out var line, left))
                {
                    if (match(line))
                        return line;
                }
                else if (_lines.IsCompleted)
                {
                    return null;
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
            {
                return null; // disposed or completed meanwhile
            }
        }
    }

    /// <summary>Closes the child's standard input (a worker's signal to finish), waits up to <paramref name="grace"/> for it to end, then kills it.</summary>
    public void Stop(TimeSpan grace)
    {
        try
        {
            _process.StandardInput.Close();
            if (_process.WaitForExit(grace))
            {
                // A wait with a limit returns at the exit, before the output handlers have seen the last lines (the
                // worker's "done"); the wait without one drains them.
                _process.WaitForExit();
                return;
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // Gone already, or its input is: kill below makes sure.
        }
        Kill();
    }

    /// <summary>Waits for a printed line that satisfies <paramref name="match"/> and returns it.</summary>
    public string WaitForLine(Func<string, bool> match, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? Eventually.DefaultDeadline;
        if (TryWaitForLine(match, limit) is { } line)
            return line;
        if (_lines.IsCompleted)
            throw new InvalidOperationException($"Child {Id} ended (exit code {ExitCodeOrNull()}) before printing {what}. stderr: {Errors}");
        throw new TimeoutException($"Child {Id} did not print {what} within {limit.TotalSeconds:0} s. stderr: {Errors}");
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
        ExitGuard.Forget(_process);
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
