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
/// redis-server on a free loopback port with an append-only file synced on every write, so an acknowledged commit
/// survives a SIGKILL of the server: the fault is the crash and the dropped connections, not lost data.
/// </summary>
internal sealed class RedisServer : IServer
{
    private readonly string _directory;
    private Process? _process;

    public RedisServer(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        Port = Net.FreePort();
        Start();
    }

    public int Port { get; }

    public string Configuration => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public string Description => $"redis-server 127.0.0.1:{Port}";

    public void Restart(TimeSpan downtime)
    {
        Kill();
        Thread.Sleep(downtime); // the outage itself
        Start();
    }

    public void EnsureRunning()
    {
        if (_process is not { HasExited: false })
            Start();
    }

    public void Dispose() => Kill();

    private void Start()
    {
        var info = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _directory,
            "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "yes",
        })
        {
            info.ArgumentList.Add(arg);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start; is it installed (apt-get install redis-server)?");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Net.WaitUntil(() => _process.HasExited || Ping(), TimeSpan.FromSeconds(30), $"{Description} answering PING");
        if (_process.HasExited)
            throw new InvalidOperationException($"redis-server exited with code {_process.ExitCode} at start (port {Port}).");
    }

    private void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }
        _process?.Dispose();
        _process = null;
    }

    private bool Ping()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            client.ReceiveTimeout = 2000;
            var stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buffer = new byte[64];
            var read = stream.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return false;
        }
    }
}

/// <summary>
/// The test kit's Azurite as a server the runner restarts. A restart stops it with SIGTERM (it saves its index on the
/// way out; a SIGKILL would lose recent writes by design of the emulator, not of Tosc).
/// </summary>
internal sealed class RestartableAzurite(string directory) : IServer
{
    private readonly Testing.AzuriteServer _server = Testing.AzuriteServer.Start(directory);

    public string ConnectionString => _server.ConnectionString;

    public string Description => _server.Description;

    public void Restart(TimeSpan downtime)
    {
        _server.Stop();
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
