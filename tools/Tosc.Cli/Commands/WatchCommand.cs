using System.Globalization;
using Tosc.Cli.Graph;
using Tosc.Cli.Stores;

namespace Tosc.Cli.Commands;

/// <summary>
/// <c>tosc watch URI</c>: prints every commit as it lands, read from the store's log after the version shown last.
/// The tool cannot use <see cref="Manager.WatchAsync(long?, CancellationToken)"/>: a manager decodes into the
/// application's types, which the tool does not have; it waits on the backend's change signal and applies the log
/// records to its typeless graph instead, as a manager does.
/// </summary>
internal sealed class WatchCommand : Command
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_retry = TimeSpan.FromSeconds(1);

    public override string Name => "watch";

    public override string Usage => "watch URI [--path PREFIX] [--after V]";

    public override string Summary => "Stream changes as they land (Ctrl+C ends it)";

    public override int Required => 1;

    protected override IEnumerable<(string Name, bool TakesValue)> OwnOptions => [("--path", true), ("--after", true)];

    protected override string Details =>
        "  --path PREFIX   only changes at or under PREFIX (e.g. Stock)" + Environment.NewLine +
        "  --after V       first print the commits after version V still in the log (resume where a consumer stopped)" + Environment.NewLine + Environment.NewLine +
        "One line per commit: version, commit id, the changes. When the log was compacted past the version shown last" + Environment.NewLine +
        "(or the whole state was replaced) it prints a reset line and goes on from the new state. With --json, one JSON" + Environment.NewLine +
        "object per line: {\"version\", \"commit\", \"changes\": [...]}, or {\"version\", \"reset\": true, \"value\": ...}." + Environment.NewLine +
        "A store briefly out of reach (a server restart) pauses the stream, with a note on stderr, instead of ending it.";

    public override async Task<int> RunAsync(Arguments args, CliContext context, CancellationToken cancellationToken)
    {
        var key = Key(args, context);
        var prefix = args.Get("--path") ?? "";
        using var backend = Open(args, context);
        var after = args.GetNumber("--after");
        var stored = await StoreContent.ReadStoredAsync(backend, cancellationToken).ConfigureAwait(false);
        StoreContent? content = null;
        List<LogRecord> backlog = [];
        var reset = false;
        if (stored is not null)
        {
            content = StoreContent.FromSnapshot(stored, StoreContent.DecodeSnapshot(stored, key));
            if (after is { } resume && resume >= content.SnapshotVersion)
            {
                // Resuming: the records up to the version given are applied silently, the ones after it printed below.
                content.Apply(stored.Log.Where(r => r.Version <= resume).ToList(), key);
                backlog = stored.Log.Where(r => r.Version > resume).ToList();
            }
            else
            {
                content.Apply(stored.Log, key);
                reset = after is not null; // the log no longer reaches back to the version given: show the state
            }
        }
        await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"watching {args.Positional[0]} from version {(after ?? content?.Version)?.ToString(CultureInfo.InvariantCulture) ?? "(empty)"}; Ctrl+C ends")).ConfigureAwait(false);
        await context.Error.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (reset)
            await PrintResetAsync(context, args.Json, content).ConfigureAwait(false);
        foreach (var entry in content?.Apply(backlog, key) ?? [])
            await PrintAsync(context, args.Json, entry, prefix).ConfigureAwait(false);
        content?.History.Clear(); // a watch keeps no history: memory stays flat however long it runs
        var version = content?.Version;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                (content, version) = await NextAsync(backend, content, version, key, args.Json, prefix, context, cancellationToken).ConfigureAwait(false);
            }
            catch (BackendException e) when (e.IsTransient)
            {
                // Like WatchAsync: a store briefly out of reach (a restart) pauses the stream instead of ending it.
                await context.Error.WriteLineAsync($"tosc: the store is out of reach, trying again: {e.Message}").ConfigureAwait(false);
                await Task.Delay(s_retry, cancellationToken).ConfigureAwait(false);
            }
        }
        return ExitCodes.Ok;
    }

    /// <summary>Waits for the next change and prints it: the new records, or a reset when the log does not reach back.</summary>
    private static async Task<(StoreContent? Content, long? Version)> NextAsync(IBackend backend, StoreContent? content, long? version, byte[]? key,
        bool json, string prefix, CliContext context, CancellationToken cancellationToken)
    {
        var now = await backend.WaitForChangeAsync(version, s_wait, cancellationToken).ConfigureAwait(false);
        if (now == version)
            return (content, version);
        if (content is not null && now is not null && backend is ToscBackend { SupportsLog: true } logged)
        {
            var slice = await logged.ReadLogAsync(content.Version, cancellationToken).ConfigureAwait(false);
            if (slice.Snapshot is null)
            {
                foreach (var entry in content.Apply(slice.Records, key))
                    await PrintAsync(context, json, entry, prefix).ConfigureAwait(false);
                content.History.Clear();
                return (content, content.Version);
            }
        }
        content = await StoreContent.ReadAsync(backend, key, cancellationToken).ConfigureAwait(false);
        content?.History.Clear();
        await PrintResetAsync(context, json, content).ConfigureAwait(false);
        return (content, content?.Version);
    }

    private static async Task PrintAsync(CliContext context, bool json, HistoryEntry entry, string prefix)
    {
        var changes = entry.Changes.Where(c => prefix.Length == 0 || c.Path.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (changes.Count == 0 && prefix.Length > 0)
            return;
        var line = json
            ? Output.Json(writer =>
            {
                writer.WriteNumber("version", entry.Version);
                writer.WriteString("commit", entry.CommitId.ToString("N"));
                Output.WriteChanges(writer, changes);
            }, indented: false)
            : string.Create(CultureInfo.InvariantCulture,
                $"{entry.Version,-20}  {Output.Commit(entry.CommitId),-12}  {(changes.Count == 0 ? "(nothing visible)" : string.Join("; ", changes.Select(Output.Describe)))}");
        await context.Out.WriteLineAsync(line).ConfigureAwait(false);
        await context.Out.FlushAsync().ConfigureAwait(false);
    }

    private static async Task PrintResetAsync(CliContext context, bool json, StoreContent? content)
    {
        var line = json
            ? Output.Json(writer =>
            {
                if (content is null)
                    writer.WriteNull("version");
                else
                    writer.WriteNumber("version", content.Version);
                writer.WriteBoolean("reset", true);
                Output.WriteValue(writer, "value", content?.State.Root);
            }, indented: false)
            : content is null
                ? "reset: the store is empty"
                : string.Create(CultureInfo.InvariantCulture,
                    $"{content.Version,-20}  {"reset",-12}  the state was replaced or the log compacted: {GraphJson.Write(content.State.Root, indented: false)}");
        await context.Out.WriteLineAsync(line).ConfigureAwait(false);
        await context.Out.FlushAsync().ConfigureAwait(false);
    }
}
