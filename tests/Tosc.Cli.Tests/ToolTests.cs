using System.Globalization;
using StackExchange.Redis;
using Tosc.Cli.Stores;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Tool;

/// <summary>Errors, exit codes, protection, corruption, the scheme extension point, and runs of the real tool process.</summary>
public sealed class ToolTests(TempFolder folder, RedisServerFixture redis) : IClassFixture<TempFolder>, IClassFixture<RedisServerFixture>
{
    private static readonly byte[] s_key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    private string FilledFile(string name, ManagerOptions? options = null)
    {
        using var backend = new FileBackend(folder.File(name));
        Stores.Fill(backend, options);
        return folder.File(name);
    }

    [Theory]
    [InlineData("ftp://host/x", "not a store URI this tool knows")]
    [InlineData("redis://127.0.0.1:6379", "redis://[user:password@]host:port/key")]
    [InlineData("postgres://u@127.0.0.1/db", "?key=")]
    [InlineData("azblob://container/blob", StoreSchemes.BlobConnectionVariable)]
    [InlineData("https://account.blob.core.windows.net/c/b", "SAS")]
    [InlineData("file://otherhost/x", "host 'otherhost'")]
    public void ABadUri_IsAUsageErrorNamingTheExpectedForm(string uri, string expected)
    {
        var result = CliRun.Run("show", uri);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis://127.0.0.1:{0}/nothing", "Could not connect")]
    [InlineData("postgres://postgres@127.0.0.1:{0}/postgres?key=nothing", "Failed to connect")]
    [InlineData("azblob://container/nothing", "Connection refused")]
    [InlineData("http://127.0.0.1:{0}/devstoreaccount1/container/nothing?sv=2020-10-02&sig=x", "Connection refused")]
    public void AnUnreachableServer_ExitsWith6(string uri, string expected)
    {
        var port = Loopback.FreePort();
        var environment = new Dictionary<string, string?>
        {
            [StoreSchemes.BlobConnectionVariable] = string.Create(CultureInfo.InvariantCulture,
                $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.AccountName};AccountKey={AzuriteServer.AccountKey};BlobEndpoint=http://127.0.0.1:{port}/{AzuriteServer.AccountName};"),
        };
        var result = CliRun.RunWith(environment, "show", string.Format(CultureInfo.InvariantCulture, uri, port));
        Assert.Equal(6, result.ExitCode);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownCommandsAndOptions_AreUsageErrors_AndHelpIsEverywhere()
    {
        Assert.Equal(2, CliRun.Run("frobnicate").ExitCode);
        Assert.Equal(2, CliRun.Run("show", "file:/tmp/x", "--nope").ExitCode);
        Assert.Equal(2, CliRun.Run("set", "file:/tmp/x", "Path").ExitCode);
        Assert.Contains("Exit codes", CliRun.Run("--help").Ok().Out, StringComparison.Ordinal);
        foreach (var command in new[] { "show", "watch", "history", "set", "verify", "export", "import" })
            Assert.Contains("Usage: tosc " + command, CliRun.Run(command, "--help").Ok().Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "HMAC-SHA256")]
    [InlineData(true, "AES-256-GCM")]
    public void Verify_OfAProtectedStore_ChecksTheTagWithTheKeyAndFailsWithAnotherOrNone(bool encrypt, string mode)
    {
        ManagerOptions Protected() => new() { WatchForChanges = false, Protection = encrypt ? StateProtection.Encrypt(s_key) : StateProtection.Authenticate(s_key) };
        var path = FilledFile($"protected-{encrypt}", Protected());
        var uri = "file:" + path;
        Assert.Contains(mode, CliRun.Run("verify", uri, "--key", Convert.ToBase64String(s_key)).Ok().Out, StringComparison.Ordinal);
        var env = new Dictionary<string, string?> { [Tosc.Cli.Cli.KeyVariable] = Convert.ToBase64String(s_key) };
        CliRun.RunWith(env, "set", uri, "Stock[\"apples\"]", "8").Ok();
        Assert.Equal(8, Stores.ReadFile(path, Protected()).Stock["apples"]);
        Assert.Contains(mode, CliRun.RunWith(env, "verify", uri).Ok().Out, StringComparison.Ordinal);

        var wrong = CliRun.Run("verify", uri, "--key", Convert.ToBase64String(StateProtection.GenerateKey()));
        Assert.Equal(5, wrong.ExitCode);
        Assert.Contains("not authenticated with an accepted key", wrong.Out, StringComparison.Ordinal);
        var none = CliRun.Run("show", uri);
        Assert.Equal(5, none.ExitCode);
        Assert.Contains("--key", none.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void ACompressedSnapshot_IsShownVerifiedAndChanged()
    {
        var options = new ManagerOptions { WatchForChanges = false, Compression = ToscCompression.Lz4, CompactAfterRecords = 1 };
        var path = FilledFile(nameof(ACompressedSnapshot_IsShownVerifiedAndChanged), options);
        using (var backend = new FileBackend(path))
        using (var manager = new Manager(backend, options))
        {
            var inventory = manager.Read<Inventory>();
            inventory.Log.Add(new string('x', 5000));
            inventory.Log.Add("compacted");
        }
        Assert.Equal(1, File.ReadAllBytes(path)[53] & 0x01); // the snapshot's header flags: LZ4 (file header 48 bytes, then "TOSC", version, flags)
        var uri = "file:" + path;
        CliRun.Run("verify", uri).Ok();
        Assert.Equal("\"compacted\"", CliRun.Run("show", uri, "--path", "Log[2]").Ok().Out.Trim());
        CliRun.Run("set", uri, "Log[1]", "\"short\"").Ok();
        Assert.Equal("short", Stores.ReadFile(path, options).Log[1]);
    }

    [Fact]
    public void Verify_OfAFileWithAFlippedByte_ExitsWith5()
    {
        var path = FilledFile(nameof(Verify_OfAFileWithAFlippedByte_ExitsWith5));
        var bytes = File.ReadAllBytes(path);
        bytes[60] ^= 0x20;
        File.WriteAllBytes(path, bytes);
        var result = CliRun.Run("verify", "file:" + path);
        Assert.Equal(5, result.ExitCode);
    }

    [Fact]
    public void Verify_OfARedisSnapshotOrRecordThatWasTamperedWith_SaysWhatIsWrong()
    {
        var key = "cli:" + nameof(Verify_OfARedisSnapshotOrRecordThatWasTamperedWith_SaysWhatIsWrong);
        using (var backend = new RedisBackend(redis.Server.Configuration, key))
            Stores.Fill(backend);
        var uri = $"redis://127.0.0.1:{redis.Server.Port}/{key}";
        CliRun.Run("verify", uri).Ok();
        using var connection = ConnectionMultiplexer.Connect(redis.Server.Configuration);
        var db = connection.GetDatabase();
        byte[] data = db.HashGet("tosc:" + key, "data")!;
        db.HashSet("tosc:" + key, "data", data[..^4]);
        var result = CliRun.Run("verify", uri, "--json");
        Assert.Equal(5, result.ExitCode);
        var snapshot = result.Json.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("check").GetString() == "snapshot");
        Assert.False(snapshot.GetProperty("ok").GetBoolean());
        Assert.Contains("offset", snapshot.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASchemeAddedByTheCaller_OpensItsStores_AsEtcdWillBeAdded()
    {
        using var store = new InprocBackend();
        Stores.Fill(store);
        var result = await CliRun.RunAsync(new Dictionary<string, string?>(), [.. StoreSchemes.BuiltIn, new InprocScheme(store)], CancellationToken.None,
            "show", "inproc:test", "--path", "Items[0].Name");
        Assert.Equal("\"apples\"", result.Ok().Out.Trim());
    }

    [Fact]
    public async Task Set_OnABackendWithoutALog_ComparesAndSwapsTheWholeState()
    {
        using var store = new InprocBackend();
        var plain = new PrimitivesOnlyBackend(store);
        Stores.Fill(plain);
        IStoreScheme[] schemes = [new InprocScheme(plain)];
        var set = await CliRun.RunAsync(new Dictionary<string, string?>(), schemes, CancellationToken.None, "set", "inproc:x", "Items[1].Limit", "77");
        set.Ok();
        var inventory = Stores.Read(plain);
        Assert.Equal(77, inventory.Items[1].Limit);
        Assert.Same(inventory.Items[0], inventory.Featured);
        var history = await CliRun.RunAsync(new Dictionary<string, string?>(), schemes, CancellationToken.None, "history", "inproc:x", "--json");
        Assert.Equal(0, history.Ok().Json.GetProperty("records").GetArrayLength());
    }

    private sealed class InprocScheme(IBackend store) : IStoreScheme
    {
        public IReadOnlyList<string> Schemes { get; } = ["inproc"];

        public string Form => "inproc:name";

        // The tool disposes what it opens; the forwarder leaves the test's in-process store open.
        public IBackend Open(string uri, Func<string, string?> environment) => new ForwardingBackend(store);
    }

    [Fact]
    public void TheToolProcess_ShowsSetsAndReportsConflictsWithItsExitCodes()
    {
        var uri = "file:" + FilledFile(nameof(TheToolProcess_ShowsSetsAndReportsConflictsWithItsExitCodes));
        var shown = CliRun.Process(null, "show", uri, "--json").Ok();
        var version = shown.Json.GetProperty("version").GetInt64();
        Assert.Equal("Demo.Inventory", shown.Json.GetProperty("value").GetProperty("$type").GetString());
        CliRun.Process(null, "set", uri, "Stock[\"apples\"]", "9").Ok();
        var conflict = CliRun.Process(null, "set", uri, "Stock[\"apples\"]", "10", "--expect-version", version.ToString(CultureInfo.InvariantCulture), "--json");
        Assert.Equal(4, conflict.ExitCode);
        Assert.Equal(4, System.Text.Json.JsonDocument.Parse(conflict.Error).RootElement.GetProperty("exitCode").GetInt32());
        Assert.Equal(2, CliRun.Process(null, "show", "nope:x").ExitCode);
    }

    [Fact]
    public async Task Watch_WhenTheServerRestarts_PausesAndGoesOn()
    {
        using var server = RedisServer.Start(durable: true);
        using (var backend = new RedisBackend(server.Configuration, "restarting"))
            Stores.Fill(backend);
        var watch = await CliStoreTests.WatchRun.StartAsync($"redis://127.0.0.1:{server.Port}/restarting", new Dictionary<string, string?>());
        server.Restart();
        using (var backend = new RedisBackend(server.Configuration, "restarting"))
        using (var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false }))
            manager.Read<Inventory>().Stock["after-restart"] = 1;
        await watch.WaitForAsync("after-restart", "the watch to print the commit made after the restart");
        Assert.Equal(0, await watch.StopAsync());
    }

    [Fact]
    public void TheWatchProcess_PrintsACommitAndEndsCleanlyOnCtrlC()
    {
        var path = FilledFile(nameof(TheWatchProcess_PrintsACommitAndEndsCleanlyOnCtrlC));
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "Tosc.Cli.dll"), "watch", "file:" + path })
            start.ArgumentList.Add(arg);
        using var watch = System.Diagnostics.Process.Start(start)!;
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        watch.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        watch.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        watch.BeginOutputReadLine();
        watch.BeginErrorReadLine();
        try
        {
            Eventually.True(() => lines.Any(l => l.StartsWith("watching", StringComparison.Ordinal)) || watch.HasExited, "the watch process to start");
            using (var backend = new FileBackend(path))
            using (var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false }))
                manager.Read<Inventory>().Log.Add("from another process's view");
            Eventually.True(() => lines.Any(l => l.Contains("Log[1] appended", StringComparison.Ordinal)) || watch.HasExited, "the watch process to print the commit");
            using (var interrupt = System.Diagnostics.Process.Start("kill", ["-INT", watch.Id.ToString(CultureInfo.InvariantCulture)]))
                interrupt.WaitForExit();
            Assert.True(watch.WaitForExit(TimeSpan.FromSeconds(30)), "the watch process did not end on SIGINT");
            Assert.Equal(0, watch.ExitCode);
        }
        finally
        {
            if (!watch.HasExited)
                watch.Kill(entireProcessTree: true);
        }
    }
}
