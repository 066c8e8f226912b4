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
