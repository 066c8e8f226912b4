using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tosc.Benchmarks.Harness;

/// <summary>
/// Every child process the harness starts (servers, workers). They are killed when the harness ends,
/// also on Ctrl+C and on an unhandled exception.
/// </summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<Process, bool> s_running = new(ReferenceEqualityComparer.Instance);

    public static Process Start(ProcessStartInfo info)
    {
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName}.");
        s_running[process] = true;
        return process;
    }

    /// <summary>Kills the process (and its children) and forgets it; a second call does nothing.</summary>
    public static void Stop(Process process)
    {
        if (!s_running.TryRemove(process, out _))
            return;
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        process.Dispose();
    }

    public static void StopAll()
    {
        foreach (var process in s_running.Keys.ToArray())
            Stop(process);
    }
}

internal static class Loopback
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

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

    /// <summary>Finds a program on PATH; null when it is not there.</summary>
    public static string? OnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}

/// <summary>A redis-server on a free loopback port, persistence off, in a temporary directory.</summary>
internal sealed class RedisServer : IDisposable
{
    private readonly Process _process;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts the server, or returns null and why it could not.</summary>
    public static RedisServer? TryStart(string workDirectory, out string? reason)
    {
        reason = null;
        var program = Loopback.OnPath("redis-server");
        if (program is null)
        {
            reason = "redis-server is not on PATH (apt-get install redis-server)";
            return null;
        }
        var port = Loopback.FreePort();
        var directory = Directory.CreateDirectory(Path.Combine(workDirectory, "redis")).FullName;
        var info = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (var arg in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory, "--daemonize", "no", "--loglevel", "warning" })
            info.ArgumentList.Add(arg);
        var process = ChildProcesses.Start(info);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (process.HasExited)
            {
                reason = $"redis-server exited at start with code {process.ExitCode}";
                ChildProcesses.Stop(process);
                return null;
            }
            if (Ping(port))
                return new RedisServer(process, port);
            Thread.Sleep(50);
        }
        ChildProcesses.Stop(process);
        reason = $"redis-server on port {port} did not answer PING within 15 s";
        return null;
    }

    private static bool Ping(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            var stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buffer = new byte[16];
            var read = stream.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return false;
        }
    }

    public void Dispose() => ChildProcesses.Stop(_process);
}
