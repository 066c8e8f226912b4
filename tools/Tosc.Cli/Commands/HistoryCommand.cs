using System.Globalization;

namespace Tosc.Cli.Commands;

/// <summary><c>tosc history URI</c>: the records of the store's log after its snapshot, oldest first.</summary>
internal sealed class HistoryCommand : Command
{
    public override string Name => "history";

    public override string Usage => "history URI [--last N]";

    public override string Summary => "List the log after the snapshot: version, commit id, paths changed";

    public override int Required => 1;

    protected override IEnumerable<(string Name, bool TakesValue)> OwnOptions => [("--last", true)];

    protected override string Details =>
        "  --last N   only the newest N records" + Environment.NewLine + Environment.NewLine +
        "Every built-in backend keeps a log of the commits since the last compaction (at most 1,000 records or 4 MiB by" + Environment.NewLine +
        "default); older commits are folded into the snapshot, whose version is shown first. No backend stores commit times." + Environment.NewLine +
        "With --json: {\"snapshotVersion\": V, \"version\": V, \"records\": [{\"version\", \"commit\", \"changes\": [{\"path\", \"op\", \"value\"}]}]}.";

    public override async Task<int> RunAsync(Arguments args, CliContext context, CancellationToken cancellationToken)
    {
        var last = args.GetNumber("--last");
        using var backend = Open(args, context);
        var content = await ReadAsync(backend, args, context, cancellationToken).ConfigureAwait(false);
        var records = last is { } n ? content.History.TakeLast((int)Math.Clamp(n, 0, int.MaxValue)).ToList() : content.History;
        if (args.Json)
        {
            await WriteLineAsync(context, Output.Json(writer =>
            {
                writer.WriteNumber("snapshotVersion", content.SnapshotVersion);
                writer.WriteNumber("version", content.Version);
                writer.WriteStartArray("records");
                foreach (var entry in records)
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("version", entry.Version);
                    writer.WriteString("commit", entry.CommitId.ToString("N"));
                    Output.WriteChanges(writer, entry.Changes);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            })).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        await WriteLineAsync(context, string.Create(CultureInfo.InvariantCulture, $"{"VERSION",-20}  {"COMMIT",-12}  CHANGES")).ConfigureAwait(false);
        await WriteLineAsync(context, string.Create(CultureInfo.InvariantCulture,
            $"{content.SnapshotVersion,-20}  {"snapshot",-12}  {(content.History.Count == 0 ? "the whole state (no log records after it)" : "the whole state; the log follows")}")).ConfigureAwait(false);
        foreach (var entry in records)
        {
            var changes = entry.Changes.Count == 0 ? "(nothing visible)" : string.Join("; ", entry.Changes.Select(Output.Describe));
            await WriteLineAsync(context, string.Create(CultureInfo.InvariantCulture, $"{entry.Version,-20}  {Output.Commit(entry.CommitId),-12}  {changes}")).ConfigureAwait(false);
        }
        return ExitCodes.Ok;
    }
}
