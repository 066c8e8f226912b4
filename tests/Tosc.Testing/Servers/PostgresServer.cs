using System.Diagnostics;
using System.Globalization;

namespace Tosc.Testing;

/// <summary>
/// A real PostgreSQL server on a free 127.0.0.1 port with its own data directory (<c>initdb</c> into a temporary
/// directory, trust authentication on loopback, user <c>postgres</c>, database <c>postgres</c>). PostgreSQL refuses to
/// run as root, so under root the binaries run as the <c>postgres</c> user through <c>runuser</c>. It can be restarted
/// (fast shutdown, same port and data) and crashed.
/// </summary>
public sealed class PostgresServer : IRestartableServer
{
    private readonly string _bin;
    private readonly bool _asPostgresUser;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();
    private Process? _process;

    private PostgresServer(string bin)
    {
        _bin = bin;
        _asPostgresUser = Environment.UserName == "root";
        Port = Loopback.FreePort();
        // Under root the postgres user must reach the directory: the system temp folder, not a private TMPDIR.
        var temp = _asPostgresUser ? "/tmp" : Path.GetTempPath();
        Directory = Path.Combine(temp, "tosc-pg-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>How long a start or a stop may take before it counts as failed.</summary>
    public static TimeSpan StartDeadline { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The loopback port the server listens on (the same after a restart).</summary>
    public int Port { get; }

    /// <summary>The temporary directory: the cluster in <c>data</c>, the Unix socket beside it. Removed on dispose.</summary>
    public string Directory { get; }

    /// <summary>The cluster's data directory.</summary>
    public string DataDirectory => Path.Combine(Directory, "data");

    /// <summary>An Npgsql connection string for this server (no pooling options; callers add their own).</summary>
    public string ConnectionString => string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres");

    /// <summary>Host and port, for messages.</summary>
    public string Description => string.Create(CultureInfo.InvariantCulture, $"postgres 127.0.0.1:{Port}");

    /// <summary>Whether the server process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Creates a cluster and starts the server; waits until it accepts connections.</summary>
    /// <exception cref="InvalidOperationException">PostgreSQL is not installed, or initdb or the server failed.</exception>
    /// <exception cref="TimeoutException">It did not accept connections within <see cref="StartDeadline"/>.</exception>
    public static PostgresServer Start()
    {
        return ServerProcess.Started(new PostgresServer(BinDirectory()), server =>
        {
            server.InitDb();
            server.Launch();
        });
    }

    /// <summary>Stops the server with a fast shutdown (SIGINT: open transactions roll back, connections close, a checkpoint is written).</summary>
    public void Shutdown()
    {
        if (!IsRunning)
            return;
        SignalPostmaster("INT");
        if (!_process!.WaitForExit(StartDeadline))
            throw new TimeoutException($"{Description} did not exit within {StartDeadline.TotalSeconds:0} s after a fast shutdown.");
        ExitGuard.Forget(_process);
    }

    /// <summary>
    /// Kills the postmaster and its processes at once (SIGKILL), like a machine losing power for the server; the next start
    /// runs crash recovery from the WAL. (Killing the postmaster alone would leave its backends holding the shared
    /// memory, and a new postmaster refuses to start until they are gone.)
    /// </summary>
    public void Crash()
    {
        if (!IsRunning)
            return;
        var postmaster = PostmasterPid();
        var children = ChildrenOf(postmaster);
        Kill("KILL", [postmaster, .. children]);
        _process!.WaitForExit(StartDeadline);
        ExitGuard.Forget(_process);
        // Wait for the children to be gone too: their shared memory must be released before the next start.
        var clock = Stopwatch.StartNew();
        while (children.Any(pid => System.IO.Directory.Exists($"/proc/{pid}")) && clock.Elapsed < StartDeadline)
            Thread.Sleep(20);
    }

    /// <summary>Shuts the server down (fast) and starts it again on the same port and data; waits until it accepts connections.</summary>
    public void Restart()
    {
        Shutdown();
        Launch();
    }

    /// <summary>Starts the stopped server again on the same port and data.</summary>
    public void StartAgain()
    {
        if (IsRunning)
            throw new InvalidOperationException($"{Description} is still running.");
        Launch();
    }

    /// <summary>Stops the server (immediate shutdown, then SIGKILL) and removes the directory.</summary>
    public void Dispose()
    {
        if (IsRunning)
        {
            try
            {
                SignalPostmaster("QUIT"); // immediate shutdown: the postmaster takes its backends down with it
            }
            catch (InvalidOperationException)
            {
                // No pid file yet (still starting): the kill below ends it.
            }
            if (!_process!.WaitForExit(TimeSpan.FromSeconds(10)))
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
            ExitGuard.Forget(_process);
        }
        _process?.Dispose();
        _process = null;
        ServerProcess.DeleteDirectory(Directory);
    }

    private static string BinDirectory()
    {
        try
        {
            var (code, output) = Run("pg_config", ["--bindir"]);
            var bin = output.Trim();
            if (code == 0 && File.Exists(Path.Combine(bin, "initdb")))
                return bin;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Not installed: the message below says how to install it.
        }
        throw new InvalidOperationException("PostgreSQL is not installed (no pg_config with an initdb beside it); install it with `apt-get install postgresql` (scripts/install-servers.sh does this).");
    }

    private void InitDb()
    {
        if (_asPostgresUser)
        {
            var (chown, chownOutput) = Run("chown", ["postgres:postgres", Directory]);
            if (chown != 0)
                throw new InvalidOperationException($"chown postgres {Directory} failed: {chownOutput}");
        }
        var (code, output) = Run(Command("initdb"), [.. Prefix("initdb"), "-D", DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
        if (code != 0)
            throw new InvalidOperationException($"initdb failed with code {code}: {output}");
    }

    private void Launch()
    {
        var info = new ProcessStartInfo(Command("postgres")) { WorkingDirectory = Directory };
        string[] settings =
        [
            "-D", DataDirectory, "-p", Port.ToString(CultureInfo.InvariantCulture), "-k", Directory,
            "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
            // Durable against a killed server process (the OS keeps the writes); only an OS crash could lose them.
            "-c", "fsync=off", "-c", "logging_collector=off",
        ];
        foreach (var arg in Prefix("postgres").Concat(settings))
            info.ArgumentList.Add(arg);
        _process?.Dispose();
        _process = ServerProcess.Start(info, $"{info.FileName} could not be started; install PostgreSQL with `apt-get install postgresql` (scripts/install-servers.sh does this).", _log);
        WaitUntilReady();
    }

    private void WaitUntilReady()
    {
        var clock = Stopwatch.StartNew();
        var last = "no answer";
        while (clock.Elapsed < StartDeadline)
        {
            if (_process!.HasExited)
                throw new InvalidOperationException($"{Description} exited at start with code {_process.ExitCode}: {string.Join(" | ", _log)}");
            // pg_isready connects and asks: "accepting connections" only once recovery is over.
            var (code, output) = Run(Path.Combine(_bin, "pg_isready"), ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", "postgres", "-t", "2"]);
            if (code == 0)
                return;
            last = output.Trim();
            Thread.Sleep(50); // polling interval of a deadline wait
        }
        throw new TimeoutException($"{Description} did not accept connections within {StartDeadline.TotalSeconds:0} s (last: {last}).");
    }

    private void SignalPostmaster(string signal) => Kill(signal, [PostmasterPid()]);

    private string PostmasterPid()
    {
        // The started process may be runuser; the postmaster's pid is the first line of postmaster.pid.
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        string? pid = null;
        try
        {
            pid = File.ReadLines(pidFile).FirstOrDefault()?.Trim();
        }
        catch (IOException)
        {
        }
        return string.IsNullOrEmpty(pid) ? throw new InvalidOperationException($"{Description} has no {pidFile}.") : pid;
    }

    private void Kill(string signal, string[] pids)
    {
        var (code, output) = Run("kill", ["-" + signal, .. pids]);
        if (code != 0)
            throw new InvalidOperationException($"kill -{signal} {string.Join(' ', pids)} ({Description}) failed: {output}");
    }

    /// <summary>The processes whose parent is <paramref name="pid"/> (from /proc/*/stat: "pid (comm) state ppid ...").</summary>
    private static string[] ChildrenOf(string pid)
    {
        var children = new List<string>();
        foreach (var entry in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(entry);
            if (!name.All(char.IsAsciiDigit))
                continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(entry, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 1 && fields[1] == pid)
                    children.Add(name);
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }
        return [.. children];
    }

    private string Command(string program) => _asPostgresUser ? "runuser" : Path.Combine(_bin, program);

    private string[] Prefix(string program) => _asPostgresUser ? ["-u", "postgres", "--", Path.Combine(_bin, program)] : [];

    private static (int Code, string Output) Run(string program, string[] arguments)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in arguments)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(StartDeadline))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish within {StartDeadline.TotalSeconds:0} s.");
        }
        return (process.ExitCode, stdout + stderr.GetAwaiter().GetResult());
    }
}

/// <summary>One <see cref="PostgresServer"/> shared by the tests of a class (xunit class fixture); each test uses its own keys.</summary>
public sealed class PostgresServerFixture : IDisposable
{
    /// <summary>The running server.</summary>
    public PostgresServer Server { get; } = PostgresServer.Start();

    /// <inheritdoc/>
    public void Dispose() => Server.Dispose();
}
