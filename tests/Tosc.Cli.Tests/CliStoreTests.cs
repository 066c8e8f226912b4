using System.Runtime.CompilerServices;
using System.Text.Json;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Tool;

/// <summary>
/// The tool against one real store of each backend: stores are written by managers with the application's classes,
/// and read, changed and watched by the tool, which never sees those classes.
/// </summary>
public abstract class CliStoreTests
{
    /// <summary>The URI of a store no other test uses.</summary>
    protected abstract string Uri(string name);

    /// <summary>A backend on the same store, for the managers that write and check it.</summary>
    protected abstract IBackend Open(string name);

    /// <summary>Variables the tool needs for this backend (the Blob connection string).</summary>
    protected virtual IReadOnlyDictionary<string, string?> Environment { get; } = new Dictionary<string, string?>();

    private static readonly Guid s_customer = Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff");

    private CliResult Tool(params string[] args) => CliRun.RunWith(Environment, args);

    private string Filled([CallerMemberName] string name = "")
    {
        using var backend = Open(name);
        Stores.Fill(backend);
        return Uri(name);
    }

    [Fact]
    public void Show_PrintsTheStateByStoredTypeNamesAndMembers()
    {
        var result = Tool("show", Filled(), "--json").Ok();
        var value = result.Json.GetProperty("value");
        Assert.Equal("Demo.Inventory", value.GetProperty("$type").GetString());
        Assert.Equal(4, value.GetProperty("Stock").GetProperty("apples").GetInt32());
        Assert.Equal("Demo.Item", value.GetProperty("Items")[0].GetProperty("$type").GetString());
        Assert.Equal(35, value.GetProperty("Items")[2].GetProperty("Limit").GetInt32());
        Assert.Equal("fruit", value.GetProperty("Tags").GetProperty("$set")[0].GetString());
        Assert.Equal(2, value.GetProperty("Visits").GetProperty("$counter").GetInt64());
        Assert.Equal("2.50", value.GetProperty("Price").GetProperty("$decimal").GetString());
        Assert.Equal("AQID", value.GetProperty("Photo").GetProperty("$bin").GetString());
        Assert.Equal("restock", value.GetProperty("Log")[0].GetString());
        // Items[0] and Featured are one object: defined once with an $id, then referred to.
        var shared = value.GetProperty("Items")[0].GetProperty("$id").GetString();
        Assert.Equal(shared, value.GetProperty("Featured").GetProperty("$ref").GetString());
    }

    [Fact]
    public void Show_WithAPath_PrintsTheValueThere()
    {
        var uri = Filled();
        Assert.Equal("4", Tool("show", uri, "--path", "Stock[\"apples\"]").Ok().Out.Trim());
        Assert.Equal(35, Tool("show", uri, "--path", "Items[2].Limit", "--json").Ok().Json.GetProperty("value").GetInt32());
        var missing = Tool("show", uri, "--path", "Stock[\"kiwis\"]");
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains("kiwis", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void History_ListsEachCommitWithThePathsItChanged()
    {
        var result = Tool("history", Filled(), "--json").Ok();
        var records = result.Json.GetProperty("records").EnumerateArray().ToList();
        var paths = records.SelectMany(r => r.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("path").GetString())).ToList();
        Assert.Equal(["Stock[\"apples\"]", "Items[2].Limit", "Log[0]", "Visits"], paths);
        Assert.All(records, r => Assert.Equal(32, r.GetProperty("commit").GetString()!.Length));
        var text = Tool("history", Uri(nameof(History_ListsEachCommitWithThePathsItChanged))).Ok().Out;
        Assert.Contains("Stock[\"apples\"] = 4", text, StringComparison.Ordinal);
        Assert.Contains("Visits += 2", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Set_CommitsOneChangeThatManagersRead()
    {
        var uri = Filled();
        Tool("set", uri, "Stock[\"apples\"]", "7").Ok();
        Tool("set", uri, "Items[1].Limit", "21").Ok();
        Tool("set", uri, "Price", "9.75").Ok();
        Tool("set", uri, "Stock[\"kiwis\"]", "1").Ok();
        Tool("set", uri, "Visits", "5").Ok();
        Tool("set", uri, $"Discounts[\"{s_customer}\"]", "0.25").Ok();
        Tool("set", uri, "Featured.Name", "\"red apples\"").Ok();
        using var backend = Open(nameof(Set_CommitsOneChangeThatManagersRead));
        var inventory = Stores.Read(backend);
        Assert.Equal(7, inventory.Stock["apples"]);
        Assert.Equal(1, inventory.Stock["kiwis"]);
        Assert.Equal(21, inventory.Items[1].Limit);
        Assert.Equal(9.75m, inventory.Price);
        Assert.Equal(5, inventory.Visits.Value);
        Assert.Equal(0.25m, inventory.Discounts[s_customer]);
        Assert.Equal(0.5m, inventory.Discounts[Guid.Empty]);
        Assert.Same(inventory.Items[0], inventory.Featured);
        Assert.Equal("red apples", inventory.Items[0].Name);
    }

    [Fact]
    public void Set_AgainstAVersionThatMoved_IsAConflictAndWritesNothing()
    {
        var uri = Filled();
        var before = Tool("show", uri, "--json").Ok().Json.GetProperty("version").GetInt64();
        using (var backend = Open(nameof(Set_AgainstAVersionThatMoved_IsAConflictAndWritesNothing)))
        using (var other = new Manager(backend, new ManagerOptions { WatchForChanges = false }))
            other.Read<Inventory>().Stock["apples"] = 100;
        var result = Tool("set", uri, "Stock[\"apples\"]", "7", "--expect-version", before.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(4, result.ExitCode);
        Assert.Contains("another commit landed first", result.Error, StringComparison.Ordinal);
        Assert.Equal(100, Tool("show", uri, "--path", "Stock[\"apples\"]", "--json").Ok().Json.GetProperty("value").GetInt32());
    }

    [Fact]
    public void Set_OfAnotherShape_IsRefusedUnlessForced()
    {
        var uri = Filled();
        var result = Tool("set", uri, "Items[0].Limit", "\"many\"");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--force", result.Error, StringComparison.Ordinal);
        Assert.Equal(3, Tool("set", uri, "Items[0].Colour", "\"red\"").ExitCode);
    }

    [Fact]
    public void Verify_AnIntactStore_PassesEveryCheck()
    {
        var result = Tool("verify", Filled(), "--json").Ok();
        Assert.True(result.Json.GetProperty("ok").GetBoolean());
        Assert.Equal(3, result.Json.GetProperty("checks").GetArrayLength());
    }

    [Fact]
    public void ExportThenImport_GivesTheSameGraphInAnotherStore()
    {
        var uri = Filled();
        var file = Path.Combine(Path.GetTempPath(), $"tosc-cli-{Guid.NewGuid():N}.json");
        try
        {
            Tool("export", uri, file).Ok();
            var target = nameof(ExportThenImport_GivesTheSameGraphInAnotherStore) + "-copy";
            Tool("import", Uri(target), file).Ok();
            Assert.Equal(Tool("export", uri).Ok().Out, Tool("export", Uri(target)).Ok().Out);
            using var backend = Open(target);
            var copy = Stores.Read(backend);
            Assert.Equal(4, copy.Stock["apples"]);
            Assert.Equal(2.50m, copy.Price);
            Assert.Equal(2, copy.Visits.Value);
            Assert.Equal([1, 2, 3], copy.Photo);
            Assert.Same(copy.Items[0], copy.Featured);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Watch_PrintsACommitThatAnotherManagerMakes()
    {
        var uri = Filled();
        var watch = await WatchRun.StartAsync(uri, Environment);
        using (var backend = Open(nameof(Watch_PrintsACommitThatAnotherManagerMakes)))
        using (var other = new Manager(backend, new ManagerOptions { WatchForChanges = false }))
            other.Read<Inventory>().Stock["pears"] = 42;
        await watch.WaitForAsync("Stock[\\\"pears\\\"]", "the watch to print the commit");
        Assert.Equal(0, await watch.StopAsync());
        var line = watch.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Single(l => l.TryGetProperty("changes", out _));
        Assert.Equal(42, line.GetProperty("changes")[0].GetProperty("value").GetInt32());
    }

    [Fact]
    public async Task Watch_PrintsAResetWhenTheWholeStateIsReplaced()
    {
        var uri = Filled();
        var file = Path.Combine(Path.GetTempPath(), $"tosc-cli-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, "{\"$type\": \"Demo.Inventory\", \"Stock\": {\"figs\": 9}}");
        var watch = await WatchRun.StartAsync(uri, Environment);
        try
        {
            Tool("import", uri, file).Ok();
            await watch.WaitForAsync("\"reset\":true", "the watch to print a reset");
            Assert.Contains("\"figs\":9", watch.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
        Assert.Equal(0, await watch.StopAsync());
    }

    [Fact]
    public async Task Watch_AfterAVersion_FirstPrintsTheCommitsAfterIt()
    {
        var uri = Filled();
        var records = Tool("history", uri, "--json").Ok().Json.GetProperty("records");
        var resume = records[records.GetArrayLength() - 3].GetProperty("version").GetInt64();
        var watch = await WatchRun.StartAsync(uri, Environment, "--after", resume.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await watch.WaitForAsync("\"Visits\"", "the watch to print the backlog");
        Assert.Equal(0, await watch.StopAsync());
        var paths = watch.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("changes")[0].GetProperty("path").GetString());
        Assert.Equal(["Log[0]", "Visits"], paths);
    }

    /// <summary>A <c>tosc watch --json</c> running in-process until <see cref="StopAsync"/> cancels it as Ctrl+C does.</summary>
    internal sealed class WatchRun
    {
        private readonly StringWriter _output = new();
        private readonly StringWriter _error = new();
        private readonly TextWriter _outputLock;
        private readonly TextWriter _errorLock;
        private readonly CancellationTokenSource _stop = new();
        private Task<int> _run = Task.FromResult(-1);

        private WatchRun()
        {
            _outputLock = TextWriter.Synchronized(_output);
            _errorLock = TextWriter.Synchronized(_error);
        }

        public string Output => Text(_output, _outputLock);

        public static async Task<WatchRun> StartAsync(string uri, IReadOnlyDictionary<string, string?> environment, params string[] options)
        {
            var watch = new WatchRun();
            var context = new Tosc.Cli.CliContext { Out = watch._outputLock, Error = watch._errorLock, Environment = name => environment.GetValueOrDefault(name) };
            watch._run = Task.Run(() => Tosc.Cli.Cli.RunAsync(["watch", uri, "--json", .. options], context, watch._stop.Token));
            await Eventually.TrueAsync(() => Text(watch._error, watch._errorLock).Contains("watching", StringComparison.Ordinal) || watch._run.IsCompleted, "the watch to start");
            return watch;
        }

        public Task WaitForAsync(string text, string what) =>
            Eventually.TrueAsync(() => Output.Contains(text, StringComparison.Ordinal) || _run.IsCompleted, what);

        public async Task<int> StopAsync()
        {
            await _stop.CancelAsync();
            var code = await _run.WaitAsync(TimeSpan.FromSeconds(30));
            _stop.Dispose();
            return code;
        }

        /// <summary>What a writer holds so far, read under the lock its synchronized wrapper writes under (the wrapper itself).</summary>
        private static string Text(StringWriter writer, TextWriter synchronized)
        {
            lock (synchronized)
                return writer.ToString();
        }
    }

    [Fact]
    public void Show_OfAnEmptyStore_IsNotFound()
    {
        var result = Tool("show", Uri(nameof(Show_OfAnEmptyStore_IsNotFound) + "-empty"));
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("empty", result.Error, StringComparison.Ordinal);
    }
}
