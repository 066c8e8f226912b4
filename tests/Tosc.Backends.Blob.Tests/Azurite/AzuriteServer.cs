using System.Diagnostics;
using System.Globalization;
using Tosc.Testing;

namespace Tosc.Tests.Blob;

/// <summary>
/// A real Azurite blob emulator on a free loopback port with its own data folder. It can be stopped and started
/// again on the same port and folder (to test a restart), and is stopped and its folder deleted on dispose.
/// </summary>
public sealed class AzuriteServer : IDisposable
{
    /// <summary>The emulator's well-known account (its key is public, in the emulator's documentation).</summary>
    public const string AccountName = BlobAccount.DevelopmentAccountName;

    /// <inheritdoc cref="AccountName"/>
    public const string AccountKey = BlobAccount.DevelopmentAccountKey;

    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);
    private readonly string _executable;
    private Process? _process;

    private AzuriteServer(string executable, int port, string location)
    {
        _executable = executable;
        Port = port;
        Location = location;
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

    /// <summary>A connection string for the emulator with another account key (to test a wrong key).</summary>
    public string ConnectionStringWithKey(string accountKey) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={accountKey};BlobEndpoint={BlobEndpoint};";

    /// <summary>Starts an emulator on a free port with an empty data folder and waits until it accepts connections.</summary>
    public static AzuriteServer Start()
    {
        var executable = FindExecutable();
        for (var attempt = 1; ; attempt++)
        {
            var location = Directory.CreateTempSubdirectory("tosc-azurite-").FullName;
            var server = new AzuriteServer(executable, Loopback.FreePort(), location);
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
    public void StartAgain()
    {
        if (IsRunning)
            throw new InvalidOperationException("Azurite is already running.");
        var info = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Loopback only, no telemetry (the emulator would otherwise try to reach an Internet endpoint).
        foreach (var arg in new[]
        {
            "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(CultureInfo.InvariantCulture), "--location", Location,
            "--silent", "--skipApiVersionCheck", "--disableTelemetry",
        })
            info.ArgumentList.Add(arg);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var clock = Stopwatch.StartNew();
        while (!Loopback.IsListening(Port))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"Azurite ({_executable}) exited with code {process.ExitCode} before listening on port {Port}: {string.Join(Environment.NewLine, output)}");
            if (clock.Elapsed > StartDeadline)
            {
                Kill();
                throw new InvalidOperationException($"Azurite did not listen on port {Port} within {StartDeadline.TotalSeconds:0} s: {string.Join(Environment.NewLine, output)}");
            }
            Thread.Sleep(50); // polling interval of a deadline wait
        }
    }

    /// <summary>
    /// Stops the emulator the way a service manager does (SIGTERM) and waits for it to exit. It saves its data on
    /// the way out; a SIGKILL would lose recent writes, because Azurite keeps its index in memory between saves.
    /// </summary>
    public void Stop()
    {
        var process = _process;
        if (process is null || process.HasExited)
            return;
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
            kill?.WaitForExit();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            Kill();
        process.Dispose();
        _process = null;
    }

    /// <summary>Stops the emulator and deletes its data folder.</summary>
    public void Dispose()
    {
        Stop();
        try
        {
            Directory.Delete(Location, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    private void Kill()
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
    }

    /// <summary>azurite-blob on PATH, else under AZURITE_DIR, else in /opt/azurite/node_modules/.bin.</summary>
    internal static string FindExecutable()
    {
        var candidates = new List<string>();
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            candidates.Add(Path.Combine(folder, "azurite-blob"));
        if (Environment.GetEnvironmentVariable("AZURITE_DIR") is { Length: > 0 } root)
        {
            candidates.Add(Path.Combine(root, "azurite-blob"));
            candidates.Add(Path.Combine(root, "node_modules", ".bin", "azurite-blob"));
            candidates.Add(Path.Combine(root, "bin", "azurite-blob"));
        }
        candidates.Add("/opt/azurite/node_modules/.bin/azurite-blob");
        return candidates.FirstOrDefault(File.Exists) ?? throw new InvalidOperationException(
            "These tests need Azurite, the Azure Storage emulator, and azurite-blob was not found on PATH, under AZURITE_DIR " +
            "or in /opt/azurite/node_modules/.bin. Install it with `npm install -g azurite` (or " +
            "`mkdir -p /opt/azurite && npm install --prefix /opt/azurite azurite`), or set AZURITE_DIR to the folder it is installed in.");
    }
}
