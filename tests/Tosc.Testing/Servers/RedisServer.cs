using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Tosc.Testing;

/// <summary>
/// A real <c>redis-server</c> process on a free 127.0.0.1 port with its own data directory: the one launcher the
/// Redis tests, the benchmarks and the chaos runner share. It can be shut down, killed (SIGKILL) and started again
/// on the same port and data.
/// </summary>
public sealed class RedisServer : IRestartableServer
{
    private readonly string[] _extraArguments;
    private readonly bool _ownsDirectory;
    private Process? _process;

    private RedisServer(string? password, bool durable, string? directory, string[] extraArguments)
    {
        Port = Loopback.FreePort();
        Password = password;
        Durable = durable;
        _extraArguments = extraArguments;
        _ownsDirectory = directory is null;
        Directory = directory ?? Path.Combine(Path.GetTempPath(), "tosc-redis-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>How long a start may take before it counts as failed.</summary>
    public static TimeSpan StartDeadline { get; } = TimeSpan.FromSeconds(30);

    /// <summary>The loopback port the server listens on (the same after a restart).</summary>
    public int Port { get; }

    /// <summary>The password of the <c>default</c> user (<c>--requirepass</c>), or <see langword="null"/>.</summary>
    public string? Password { get; }

    /// <summary>
    /// Whether every acknowledged write survives a restart or a SIGKILL: append-only file with <c>appendfsync always</c>.
    /// Otherwise persistence is off and a restart starts empty.
    /// </summary>
    public bool Durable { get; }

    /// <summary>The server's working directory (removed on dispose when the server created it).</summary>
    public string Directory { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => Password is null
        ? string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port},password={Password}");

    /// <summary>Host and port, for messages.</summary>
    public string Description => string.Create(CultureInfo.InvariantCulture, $"redis-server 127.0.0.1:{Port}");

    /// <summary>Whether the process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a server and waits until it answers PING.</summary>
    /// <param name="password">The <c>default</c> user's password; <see langword="null"/>: none.</param>
    /// <param name="durable">See <see cref="Durable"/>.</param>
    /// <param name="directory">The data directory, kept on dispose; <see langword="null"/>: a temporary one, removed on dispose.</param>
    /// <param name="extraArguments">More <c>redis-server</c> arguments.</param>
    /// <exception cref="InvalidOperationException">redis-server is not installed or exited at start.</exception>
    /// <exception cref="TimeoutException">It did not answer within <see cref="StartDeadline"/>.</exception>
    public static RedisServer Start(string? password = null, bool durable = false, string? directory = null, params string[] extraArguments)
    {
        return ServerProcess.Started(new RedisServer(password, durable, directory, extraArguments), server => server.Launch());
    }

    /// <summary>Stops the server the polite way (SHUTDOWN: a durable server flushes its append-only file first).</summary>
    public void Shutdown()
    {
        if (!IsRunning)
            return;
        try
        {
            Command(Durable ? "SHUTDOWN" : "SHUTDOWN NOSAVE");
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The server closes the connection instead of answering when it shuts down.
        }
        if (!_process!.WaitForExit(StartDeadline))
            throw new TimeoutException($"{Description} did not exit within {StartDeadline.TotalSeconds:0} s after SHUTDOWN.");
    }

    /// <summary>Kills the server at once (SIGKILL): only what reached the append-only file survives.</summary>
    public void Crash()
    {
        if (!IsRunning)
            return;
        _process!.Kill();
        _process.WaitForExit();
    }

    /// <summary>
    /// Freezes the server (SIGSTOP): its connections stay open and the kernel still accepts what clients send, but
    /// nothing is answered until <see cref="Thaw"/>, like a server stuck in a long command or a paused VM. Always thaw
    /// in a <see langword="finally"/>: a frozen server never answers, not even SHUTDOWN.
    /// </summary>
    public void Freeze() => Signal("STOP");

    /// <summary>Lets a frozen server run again (SIGCONT); it then answers, in order, everything sent meanwhile.</summary>
    public void Thaw() => Signal("CONT");

    /// <summary>Shuts the server down and starts it again on the same port and directory; waits until it answers.</summary>
    public void Restart()
    {
        Shutdown();
        Launch();
    }

    /// <summary>Starts the stopped server again on the same port and directory; waits until it answers.</summary>
    public void StartAgain()
    {
        if (IsRunning)
            throw new InvalidOperationException($"{Description} is still running.");
        Launch();
    }

    /// <summary>Sends one command (space-separated words, no quoting) and returns the raw first reply line.</summary>
    public string Command(string command)
    {
        using var client = new TcpClient();
        client.Connect("127.0.0.1", Port);
        client.ReceiveTimeout = 10_000;
        using var stream = client.GetStream();
        var request = new StringBuilder();
        if (Password is not null)
            request.Append(Resp("AUTH", Password));
        request.Append(Resp(command.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        stream.Write(Encoding.UTF8.GetBytes(request.ToString()));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        if (Password is not null)
            reader.ReadLine(); // +OK of AUTH
        return reader.ReadLine() ?? throw new IOException("The server closed the connection without answering.");
    }

    /// <summary>Kills the server and removes a temporary directory.</summary>
    public void Dispose()
    {
        Crash();
        _process?.Dispose();
        _process = null;
        if (!_ownsDirectory)
            return;
        ServerProcess.DeleteDirectory(Directory);
    }

    private void Signal(string signal)
    {
        if (!IsRunning)
            throw new InvalidOperationException($"{Description} is not running.");
        ServerProcess.Signal(_process!, signal, Description);
    }

    private void Launch()
    {
        var info = new ProcessStartInfo("redis-server") { WorkingDirectory = Directory };
        foreach (var arg in Arguments())
            info.ArgumentList.Add(arg);
        _process?.Dispose();
        _process = ServerProcess.Start(info, "redis-server is not installed; install it with `apt-get install redis-server` (.ci/run does this).");
        WaitUntilReady();
    }

    private IEnumerable<string> Arguments()
    {
        string[] common = ["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", Directory, "--save", "", "--daemonize", "no", "--loglevel", "warning"];
        string[] persistence = Durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
        string[] password = Password is null ? [] : ["--requirepass", Password];
        return [.. common, .. persistence, .. password, .. _extraArguments];
    }

    private void WaitUntilReady()
    {
        var clock = Stopwatch.StartNew();
        var last = "no answer";
        while (clock.Elapsed < StartDeadline)
        {
            if (_process!.HasExited)
                throw new InvalidOperationException($"{Description} exited at start with code {_process.ExitCode}.");
            try
            {
                last = Command("PING");
                if (last == "+PONG")
                    return;
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                last = e.Message;
            }
            Thread.Sleep(20); // polling interval of a deadline wait
        }
        throw new TimeoutException($"{Description} did not answer PING within {StartDeadline.TotalSeconds:0} s (last: {last}).");
    }

    private static string Resp(params string[] words)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"*{words.Length}\r\n");
        foreach (var word in words)
            text.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(word)}\r\n{word}\r\n");
        return text.ToString();
    }
}

/// <summary>One <see cref="RedisServer"/> shared by the tests of a class (xunit class fixture); each test uses its own keys.</summary>
public sealed class RedisServerFixture : IDisposable
{
    /// <summary>The running server.</summary>
    public RedisServer Server { get; } = RedisServer.Start();

    /// <inheritdoc/>
    public void Dispose() => Server.Dispose();
}
