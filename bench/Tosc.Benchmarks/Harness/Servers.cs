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

/// <summary>Azurite's blob service on a free loopback port with a temporary --location.</summary>
internal sealed class AzuriteServer : IDisposable
{
    public const string AccountName = "devstoreaccount1";

    // The emulator's well-known development key (published in Azurite's documentation).
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;

    private AzuriteServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}/{AccountName}");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint={Endpoint};";

    public static AzuriteServer? TryStart(string workDirectory, out string? reason)
    {
        reason = null;
        string program;
        var prefix = new List<string>();
        if (Loopback.OnPath("azurite-blob") is { } onPath)
        {
            program = onPath;
        }
        else if (File.Exists("/opt/azurite/node_modules/.bin/azurite-blob"))
        {
            program = "/opt/azurite/node_modules/.bin/azurite-blob";
        }
        else if (Loopback.OnPath("npx") is { } npx)
        {
            program = npx;
            prefix.AddRange(["--no-install", "azurite-blob"]);
        }
        else
        {
            reason = "azurite-blob is not on PATH, not in /opt/azurite, and npx is missing (npm install -g azurite)";
            return null;
        }
        var port = Loopback.FreePort();
        var location = Directory.CreateDirectory(Path.Combine(workDirectory, "azurite")).FullName;
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in prefix.Concat(["--blobHost", "127.0.0.1", "--blobPort", port.ToString(), "--location", location, "--skipApiVersionCheck", "--silent"]))
            info.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = ChildProcesses.Start(info);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            reason = $"could not start {program}: {e.Message}";
            return null;
        }
        var errors = new StringBuilder();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
                errors.AppendLine(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                lock (errors)
                    reason = $"azurite-blob exited at start with code {process.ExitCode}: {errors.ToString().Trim()}";
                ChildProcesses.Stop(process);
                return null;
            }
            if (Loopback.IsListening(port))
                return new AzuriteServer(process, port);
            Thread.Sleep(100);
        }
        ChildProcesses.Stop(process);
        reason = $"azurite-blob did not listen on port {port} within 30 s";
        return null;
    }

    public void Dispose() => ChildProcesses.Stop(_process);
}
