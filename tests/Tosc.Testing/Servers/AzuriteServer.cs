using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Tosc.Testing;

/// <summary>
/// A real Azurite blob emulator on a free 127.0.0.1 port with its own data folder: the one launcher the Blob tests,
/// the benchmarks and the chaos runner share. It can be stopped (SIGTERM), killed (SIGKILL) and started again on the
/// same port and folder; <see cref="Dispose"/> stops it and deletes the folder when this class created it.
/// </summary>
/// <remarks>
/// Started without <c>--skipApiVersionCheck</c>: the Blob backend pins a service version Azurite accepts, and the
/// tests prove it. Loopback only, no telemetry.
/// </remarks>
public sealed class AzuriteServer : IDisposable
{
    /// <summary>The emulator's well-known account.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>The emulator's well-known account key (public, in the emulator's documentation).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>How long a start may take before it counts as failed: generous, because CI machines are slow and shared.</summary>
    public static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    private readonly string _executable;
    private readonly bool _ownsLocation;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private AzuriteServer(string executable, int port, string location, bool ownsLocation)
    {
        _executable = executable;
        Port = port;
        Location = location;
        _ownsLocation = ownsLocation;
    }

    /// <summary>The loopback port the emulator listens on.</summary>
    public int Port { get; }

    /// <summary>The folder the emulator keeps its data in.</summary>
    public string Location { get; }

    /// <summary>http://127.0.0.1:port/devstoreaccount1 (a path-style endpoint: the account is the first path segment).</summary>
    public Uri BlobEndpoint => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}/{AccountName}"));

    /// <summary>A connection string for the emulator's account.</summary>
    public string ConnectionString => ConnectionStringWithKey(AccountKey);

    /// <summary>Whether the emulator process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>"Azurite 127.0.0.1:port", for logs.</summary>
    public string Description => string.Create(CultureInfo.InvariantCulture, $"Azurite 127.0.0.1:{Port}");

    /// <summary>A connection string for the emulator with another account key (to test a wrong key).</summary>
    public string ConnectionStringWithKey(string accountKey) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={accountKey};BlobEndpoint={BlobEndpoint};";

    /// <summary>Starts an emulator on a free port and waits until it accepts connections.</summary>
    /// <param name="location">The data folder (created if missing, kept on dispose); <see langword="null"/>: a new temporary folder, deleted on dispose.</param>
    /// <exception cref="InvalidOperationException">Azurite is not installed, exited, or did not listen within <see cref="StartDeadline"/>.</exception>
    public static AzuriteServer Start(string? location = null)
    {
        var executable = FindExecutable();
        for (var attempt = 1; ; attempt++)
        {
            var folder = location is null ? Directory.CreateTempSubdirectory("tosc-azurite-").FullName : Directory.CreateDirectory(location).FullName;
            var server = new AzuriteServer(executable, Loopback.FreePort(), folder, ownsLocation: location is null);
            try
            {
                server.StartAgain();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Most likely someone took the free port before the emulator bound it: try another one.
                server.Dispose();
            }
        }
    }

    /// <summary>Starts the emulator (again) on the same port and data folder and waits until it accepts connections.</summary>
    /// <exception cref="InvalidOperationException">It is running already, exited, or did not listen within <see cref="StartDeadline"/>.</exception>
    public void StartAgain()
    {
        if (IsRunning)
            throw new InvalidOperationException($"{Description} is already running.");
        var info = new ProcessStartInfo(_executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(CultureInfo.InvariantCulture), "--location", Location,
            "--silent", "--disableTelemetry",
        })
        {
            info.ArgumentList.Add(arg);
        }
        _output.Clear();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.Start();
        ExitGuard.Track(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var clock = Stopwatch.StartNew();
        while (!Loopback.IsListening(Port))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"Azurite ({_executable}) exited with code {process.ExitCode} before listening on port {Port}: {Output()}");
            if (clock.Elapsed > StartDeadline)
            {
                Kill();
                throw new InvalidOperationException($"{Description} did not listen within {StartDeadline.TotalSeconds:0} s: {Output()}");
            }
            Thread.Sleep(50); // polling interval of a deadline wait
        }
    }

    /// <summary>
    /// Stops the emulator the way a service manager does (SIGTERM) and waits for it to exit. It saves its data on
    /// the way out; <see cref="Kill"/> would lose recent writes, because Azurite keeps its index in memory between saves.
    /// </summary>
    public void Stop()
    {
        if (_process is { HasExited: false } process)
        {
            using (var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
                term?.WaitForExit();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
                Kill();
        }
        Forget();
    }

    /// <summary>Kills the emulator at once (SIGKILL), as a crash would; writes since its last save are lost.</summary>
    public void Kill()
    {
        try
        {
            _process?.Kill(entireProcessTree: true);
            _process?.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        Forget();
    }

    /// <summary>Stops the emulator and deletes its data folder when <see cref="Start"/> created it.</summary>
    public void Dispose()
    {
        Stop();
        if (!_ownsLocation)
            return;
        try
        {
            Directory.Delete(Location, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    /// <summary>azurite-blob on PATH, else under AZURITE_DIR, else in /opt/azurite/node_modules/.bin.</summary>
    /// <exception cref="InvalidOperationException">It is in none of them; the message says how to install it.</exception>
    public static string FindExecutable()
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "azurite-blob"))
            .ToList();
        if (Environment.GetEnvironmentVariable("AZURITE_DIR") is { Length: > 0 } root)
        {
            candidates.Add(Path.Combine(root, "azurite-blob"));
            candidates.Add(Path.Combine(root, "node_modules", ".bin", "azurite-blob"));
            candidates.Add(Path.Combine(root, "bin", "azurite-blob"));
        }
        candidates.Add("/opt/azurite/node_modules/.bin/azurite-blob");
        return candidates.FirstOrDefault(File.Exists) ?? throw new InvalidOperationException(
            "Azurite, the Azure Storage emulator, is needed and azurite-blob was not found on PATH, under AZURITE_DIR " +
            "or in /opt/azurite/node_modules/.bin. Install it with `mkdir -p /opt/azurite && npm install --prefix /opt/azurite azurite` " +
            "(scripts/test.sh does), or set AZURITE_DIR to the folder it is installed in.");
    }

    private void Keep(string? line)
    {
        if (line is null)
            return;
        _output.Enqueue(line);
        while (_output.Count > 50)
            _output.TryDequeue(out _);
    }

    private string Output() => string.Join(Environment.NewLine, _output);

    private void Forget()
    {
        _process?.Dispose();
        _process = null;
    }
}
