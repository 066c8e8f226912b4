using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Tosc.Testing;

/// <summary>
/// A real <c>etcd</c> member on free 127.0.0.1 ports (client and peer) with its own data directory: alone (a one-member
/// cluster, <see cref="Start"/>) or one of an <see cref="EtcdCluster"/>. It can be shut down (SIGTERM), killed (SIGKILL)
/// and started again on the same ports and data; etcd fsyncs its WAL before it acknowledges, so every acknowledged
/// commit survives a kill. The data directory is in <c>/dev/shm</c> where there is one (fsync there costs nothing, and
/// the files outlive the process all the same).
/// </summary>
public sealed class EtcdServer : IRestartableServer
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string _initialCluster;
    private readonly string _token;
    private readonly string[] _extraArguments;
    private readonly bool _ownsDirectory;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();
    private Process? _process;
    private bool _started;

    internal EtcdServer(string name, int port, int peerPort, string directory, string initialCluster, string token, bool ownsDirectory, string[] extraArguments)
    {
        Name = name;
        Port = port;
        PeerPort = peerPort;
        Directory = directory;
        _initialCluster = initialCluster;
        _token = token;
        _ownsDirectory = ownsDirectory;
        _extraArguments = extraArguments;
        System.IO.Directory.CreateDirectory(directory);
    }

    /// <summary>How long a start (until the member is healthy, which needs a leader) may take before it counts as failed.</summary>
    public static TimeSpan StartDeadline { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The member's name in the cluster.</summary>
    public string Name { get; }

    /// <summary>The loopback client port (the same after a restart).</summary>
    public int Port { get; }

    /// <summary>The loopback peer port.</summary>
    public int PeerPort { get; }

    /// <summary>The member's client URL, e.g. <c>http://127.0.0.1:23790</c>.</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}");

    /// <summary>The member's peer URL.</summary>
    public string PeerUrl => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{PeerPort}");

    /// <summary>The working directory; the member's data is in <c>data</c>. Removed on dispose when this server created it.</summary>
    public string Directory { get; }

    /// <summary>Name and client URL, for messages.</summary>
    public string Description => $"etcd {Name} {Endpoint}";

    /// <summary>Whether the process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a one-member cluster and waits until it is healthy.</summary>
    /// <param name="extraArguments">More <c>etcd</c> arguments, e.g. <c>--max-request-bytes=65536</c>.</param>
    /// <exception cref="InvalidOperationException">etcd is not installed or exited at start.</exception>
    /// <exception cref="TimeoutException">It was not healthy within <see cref="StartDeadline"/>.</exception>
    public static EtcdServer Start(params string[] extraArguments)
    {
        var (port, peer) = (Loopback.FreePort(), Loopback.FreePort());
        var server = new EtcdServer("solo", port, peer, NewDirectory(), string.Create(CultureInfo.InvariantCulture, $"solo=http://127.0.0.1:{peer}"),
            "tosc-" + Guid.NewGuid().ToString("N")[..8], ownsDirectory: true, extraArguments);
        return ServerProcess.Started(server, started =>
        {
            started.Launch();
            started.WaitUntilHealthy();
        });
    }

    /// <summary>Stops the member the way an operator would (SIGTERM: it finishes what it applies and closes its files).</summary>
    public void Shutdown()
    {
        if (!IsRunning)
            return;
        Signal("TERM");
        if (!_process!.WaitForExit(StartDeadline))
            throw new TimeoutException($"{Description} did not exit within {StartDeadline.TotalSeconds:0} s after SIGTERM.");
        ExitGuard.Forget(_process);
    }

    /// <summary>Kills the member at once (SIGKILL): it recovers from its WAL when started again.</summary>
    public void Crash()
    {
        if (!IsRunning)
            return;
        _process!.Kill();
        _process.WaitForExit();
        ExitGuard.Forget(_process);
    }

    /// <summary>
    /// Freezes the member (SIGSTOP): its connections stay open and the kernel still accepts what clients send, but
    /// nothing is answered (and nothing applied) until <see cref="Thaw"/>. Always thaw in a <see langword="finally"/>.
    /// </summary>
    public void Freeze() => Signal("STOP");

    /// <summary>Lets a frozen member run again (SIGCONT); it then handles what was sent meanwhile.</summary>
    public void Thaw() => Signal("CONT");

    /// <summary>Starts the stopped member again on the same ports and data; waits until it is healthy.</summary>
    public void StartAgain()
    {
        if (IsRunning)
            throw new InvalidOperationException($"{Description} is still running.");
        Launch();
        WaitUntilHealthy();
    }

    /// <summary>Kills the member and removes a directory it created.</summary>
    public void Dispose()
    {
        Crash();
        _process?.Dispose();
        _process = null;
        if (!_ownsDirectory)
            return;
        ServerProcess.DeleteDirectory(Directory);
    }

    /// <summary>
    /// Asks the member for its status (the gRPC gateway's <c>/v3/maintenance/status</c>): its own id and the leader's
    /// as it knows them; <see langword="null"/> when it does not answer.
    /// </summary>
    public (string Member, string? Leader)? Status()
    {
        if (!IsRunning)
            return null;
        try
        {
            using var content = new StringContent("{}");
            using var response = Http.PostAsync(new Uri(Endpoint + "/v3/maintenance/status"), content).GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
                return null;
            using var json = JsonDocument.Parse(response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
            var member = json.RootElement.GetProperty("header").GetProperty("member_id").GetString()!;
            var leader = json.RootElement.TryGetProperty("leader", out var l) ? l.GetString() : null;
            return (member, leader is null or "0" ? null : leader);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Whether the member answers <c>/health</c> with <c>true</c> (it is up and the cluster has a leader).</summary>
    public bool IsHealthy()
    {
        try
        {
            var body = Http.GetStringAsync(new Uri(Endpoint + "/health")).GetAwaiter().GetResult();
            return body.Contains("\"true\"", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    internal static string NewDirectory()
    {
        var root = System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        return Path.Combine(root, "tosc-etcd-" + Guid.NewGuid().ToString("N")[..12]);
    }

    internal void Launch()
    {
        var info = new ProcessStartInfo("etcd") { WorkingDirectory = Directory };
        string[] arguments =
        [
            "--name", Name, "--data-dir", Path.Combine(Directory, "data"),
            "--listen-client-urls", Endpoint, "--advertise-client-urls", Endpoint,
            "--listen-peer-urls", PeerUrl, "--initial-advertise-peer-urls", PeerUrl,
            "--initial-cluster", _initialCluster, "--initial-cluster-token", _token,
            "--initial-cluster-state", _started ? "existing" : "new",
            "--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn",
        ];
        foreach (var arg in arguments.Concat(_extraArguments))
            info.ArgumentList.Add(arg);
        _process?.Dispose();
        _process = ServerProcess.Start(info, "etcd is not installed; install it with `apt-get install etcd-server` (scripts/install-servers.sh does this).", _log);
        _started = true;
    }

    internal void WaitUntilHealthy()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartDeadline)
        {
            if (_process!.HasExited)
                throw new InvalidOperationException($"{Description} exited at start with code {_process.ExitCode}: {string.Join(" | ", _log)}");
            if (IsHealthy())
                return;
            Thread.Sleep(50); // polling interval of a deadline wait
        }
        throw new TimeoutException($"{Description} was not healthy within {StartDeadline.TotalSeconds:0} s: {string.Join(" | ", _log)}");
    }

    private void Signal(string signal) => ServerProcess.Signal(_process!, signal, Description);
}

/// <summary>One <see cref="EtcdServer"/> shared by the tests of a class (xunit class fixture); each test uses its own keys.</summary>
public sealed class EtcdServerFixture : IDisposable
{
    /// <summary>The running member.</summary>
    public EtcdServer Server { get; } = EtcdServer.Start();

    /// <inheritdoc/>
    public void Dispose() => Server.Dispose();
}
