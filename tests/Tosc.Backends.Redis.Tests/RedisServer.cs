using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Tosc.Testing;

namespace Tosc.Tests;

/// <summary>
/// A real <c>redis-server</c> process on a free loopback port, in its own temporary directory.
/// It can be shut down and started again on the same port, with or without its data.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(30);
    private readonly string[] _extraArguments;
    private Process? _process;

    private RedisServer(string? password, bool durable, string[] extraArguments)
    {
        Port = Loopback.FreePort();
        Password = password;
        Durable = durable;
        _extraArguments = extraArguments;
        Directory = Path.Combine(Path.GetTempPath(), "tosc-redis-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>The loopback port the server listens on (the same after a restart).</summary>
    public int Port { get; }

    /// <summary>The password the server requires (<c>--requirepass</c>), or <see langword="null"/>.</summary>
    public string? Password { get; }

    /// <summary>
    /// Whether every acknowledged write survives a restart: append-only file with <c>appendfsync always</c>.
    /// Otherwise persistence is off and a restart starts empty.
    /// </summary>
    public bool Durable { get; }

    /// <summary>The server's working directory (removed on dispose).</summary>
    public string Directory { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => Password is null
        ? $"127.0.0.1:{Port}"
        : $"127.0.0.1:{Port},password={Password}";

    /// <summary>Whether the process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a server and waits until it answers PING.</summary>
    public static RedisServer Start(string? password = null, bool durable = false, params string[] extraArguments)
    {
        var server = new RedisServer(password, durable, extraArguments);
        try
        {
            server.Launch();
        }
        catch
        {
            server.Dispose();
            throw;
        }
        return server;
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
        catch (IOException)
        {
            // The server closes the connection instead of answering when it shuts down.
        }
        catch (SocketException)
        {
        }
        if (!_process!.WaitForExit(StartDeadline))
            throw new TimeoutException($"redis-server on port {Port} did not exit within {StartDeadline.TotalSeconds:0} s after SHUTDOWN.");
    }

    /// <summary>Kills the server at once (SIGKILL): only what reached the append-only file survives.</summary>
    public void Crash()
    {
        if (!IsRunning)
            return;
        _process!.Kill();
        _process.WaitForExit();
    }

    /// <summary>Starts the server again on the same port and directory; waits until it answers.</summary>
    public void Restart()
    {
        Shutdown();
        Launch();
    }

    /// <summary>Starts the stopped server again on the same port.</summary>
    public void StartAgain()
    {
        if (IsRunning)
            throw new InvalidOperationException("The server is still running.");
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
        var bytes = Encoding.UTF8.GetBytes(request.ToString());
        stream.Write(bytes);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        if (Password is not null)
            reader.ReadLine(); // +OK of AUTH
        return reader.ReadLine() ?? throw new IOException("The server closed the connection without answering.");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (IsRunning)
            Crash();
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Launch()
    {
        var info = new ProcessStartInfo("redis-server")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory,
        };
        foreach (var arg in Arguments())
            info.ArgumentList.Add(arg);
        _process?.Dispose();
        try
        {
            _process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                "redis-server is not installed; the Redis tests need it. Install it with `apt-get install redis-server` (.ci/run does this).", e);
        }
        // Drain the output so the server never blocks on a full pipe.
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitUntilReady();
    }

    private IEnumerable<string> Arguments()
    {
        yield return "--port";
        yield return Port.ToString(CultureInfo.InvariantCulture);
        yield return "--bind";
        yield return "127.0.0.1";
        yield return "--dir";
        yield return Directory;
        yield return "--save";
        yield return "";
        yield return "--daemonize";
        yield return "no";
        yield return "--appendonly";
        yield return Durable ? "yes" : "no";
        if (Durable)
        {
            yield return "--appendfsync";
            yield return "always";
        }
        if (Password is not null)
        {
            yield return "--requirepass";
            yield return Password;
        }
        foreach (var arg in _extraArguments)
            yield return arg;
    }

    private void WaitUntilReady()
    {
        var clock = Stopwatch.StartNew();
        string last = "no answer";
        while (clock.Elapsed < StartDeadline)
        {
            if (_process!.HasExited)
                throw new InvalidOperationException($"redis-server on port {Port} exited at start with code {_process.ExitCode}.");
            try
            {
                last = Command("PING");
                if (last == "+PONG")
                    return;
            }
            catch (SocketException e)
            {
                last = e.Message;
            }
            catch (IOException e)
            {
                last = e.Message;
            }
            Thread.Sleep(20); // polling interval of a deadline wait
        }
        throw new TimeoutException($"redis-server on port {Port} did not answer PING within {StartDeadline.TotalSeconds:0} s (last: {last}).");
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

/// <summary>One server shared by the tests of a class; each test uses its own keys.</summary>
public sealed class RedisServerFixture : IDisposable
{
    /// <summary>The running server.</summary>
    public RedisServer Server { get; } = RedisServer.Start();

    /// <inheritdoc/>
    public void Dispose() => Server.Dispose();
}
