using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tosc.Chaos;

/// <summary>A server the run depends on, which the runner can kill and start again on the same port and data.</summary>
internal interface IServer : IDisposable
{
    string Description { get; }

    /// <summary>Takes the server down the way the fault requires and brings it back after <paramref name="downtime"/>.</summary>
    void Restart(TimeSpan downtime);

    /// <summary>Starts the server when it is not running (after a failed restart).</summary>
    void EnsureRunning();
}

internal static class Net
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

    public static void WaitUntil(Func<bool> condition, TimeSpan deadline, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > deadline)
                throw new TimeoutException($"{what} did not happen within {deadline.TotalSeconds:0} s.");
            Thread.Sleep(25); // polling interval of a deadline wait
        }
    }
}

/// <summary>
/// redis-server (the test kit's launcher) with an append-only file synced on every write, so an acknowledged commit
/// survives a SIGKILL of the server: the fault is the crash and the dropped connections, not lost data.
/// </summary>
internal sealed class RedisChaosServer(string directory) : IServer
{
    private readonly Testing.RedisServer _server = Testing.RedisServer.Start(durable: true, directory: directory);

    public string Configuration => _server.Configuration;

    public string Description => _server.Description;

    public void Restart(TimeSpan downtime)
    {
        _server.Crash();
        Thread.Sleep(downtime); // the outage itself
        _server.StartAgain();
    }

    public void EnsureRunning()
    {
        if (!_server.IsRunning)
            _server.StartAgain();
    }

    public void Dispose() => _server.Dispose();
}

/// <summary>
/// Azurite's blob service on a free loopback port with a data folder. A restart stops it with SIGTERM (it saves its
/// index on the way out; a SIGKILL would lose recent writes by design of the emulator, not of Tosc).
/// </summary>
internal sealed class AzuriteServer : IServer
{
    /// <summary>The emulator's account; its key is the published development key.</summary>
    public const string Account = "devstoreaccount1";

    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly string _directory;
    private readonly string _executable;
    private Process? _process;

    public AzuriteServer(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        _executable = FindExecutable();
        Port = Net.FreePort();
        Start();
    }

    public int Port { get; }

    public string ConnectionString => string.Create(CultureInfo.InvariantCulture,
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};BlobEndpoint=http://127.0.0.1:{Port}/{Account};");

    public string Description => $"Azurite 127.0.0.1:{Port}";

    public void Restart(TimeSpan downtime)
    {
        Stop();
        Thread.Sleep(downtime); // the outage itself
        Start();
    }

    public void EnsureRunning()
    {
        if (_process is not { HasExited: false })
            Start();
    }

    public void Dispose() => Stop();

    private void Start()
    {
        var info = new ProcessStartInfo(_executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
        {
            "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(CultureInfo.InvariantCulture), "--location", _directory,
            "--silent", "--skipApiVersionCheck", "--disableTelemetry",
        })
        {
            info.ArgumentList.Add(arg);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException($"{_executable} did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Net.WaitUntil(() => _process.HasExited || Net.IsListening(Port), TimeSpan.FromSeconds(60), $"{Description} listening");
        if (_process.HasExited)
            throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} at start (port {Port}).");
    }

    private void Stop()
    {
        if (_process is { HasExited: false } process)
        {
            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
                kill?.WaitForExit();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }
        _process?.Dispose();
        _process = null;
    }

    private static string FindExecutable()
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "azurite-blob"))
            .ToList();
        if (Environment.GetEnvironmentVariable("AZURITE_DIR") is { Length: > 0 } root)
        {
            candidates.Add(Path.Combine(root, "azurite-blob"));
            candidates.Add(Path.Combine(root, "node_modules", ".bin", "azurite-blob"));
        }
        candidates.Add("/opt/azurite/node_modules/.bin/azurite-blob");
        return candidates.FirstOrDefault(File.Exists) ?? throw new InvalidOperationException(
            "The blob backend runs against Azurite and azurite-blob was not found on PATH, under AZURITE_DIR or in /opt/azurite; " +
            "install it with `npm install --prefix /opt/azurite azurite`.");
    }
}
