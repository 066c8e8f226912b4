using System.Globalization;
using Tosc.Cli.Graph;

namespace Tosc.Cli.Commands;

/// <summary><c>tosc show URI [--path P] [--ids]</c>: the state, or the value at a path, as JSON.</summary>
internal sealed class ShowCommand : Command
{
    public override string Name => "show";

    public override string Usage => "show URI [--path P] [--ids]";

    public override string Summary => "Print the stored state (or the value at a path) as JSON";

    public override int Required => 1;

    protected override IEnumerable<(string Name, bool TakesValue)> OwnOptions => [("--path", true), ("--ids", false)];

    protected override string Details =>
        "  --path P   only the value at P, e.g. Stock[\"apples\"], Items[2].Limit, [\"key\"] for a dictionary root" + Environment.NewLine +
        "  --ids      give every node its \"$id\" (by default only nodes shared by reference have one)" + Environment.NewLine + Environment.NewLine +
        "Objects of the application's classes show as {\"$type\": \"StableName\", members...}; docs/cli.md lists every tag." + Environment.NewLine +
        "With --json the output is {\"version\": V, \"commit\": \"...\", \"path\": P, \"value\": ...}.";

    public override async Task<int> RunAsync(Arguments args, CliContext context, CancellationToken cancellationToken)
    {
        using var backend = Open(args, context);
        var content = await ReadAsync(backend, args, context, cancellationToken).ConfigureAwait(false);
        var path = args.Get("--path") ?? "";
        var value = Find(content.State.Root, path);
        var ids = args.Has("--ids");
        if (args.Json)
        {
            await WriteLineAsync(context, Output.Json(writer =>
            {
                writer.WriteNumber("version", content.Version);
                writer.WriteString("commit", content.CommitId == Guid.Empty ? null : content.CommitId.ToString("N"));
                writer.WriteString("path", path);
                Output.WriteValue(writer, "value", value, ids);
            })).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        // The version goes to stderr, so stdout is the JSON alone (tosc show URI | jq ...).
        await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"version {content.Version}{(path.Length > 0 ? ", " + path : "")}")).ConfigureAwait(false);
        await WriteLineAsync(context, GraphJson.Write(value, indented: true, allIds: ids)).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    /// <summary>The value at <paramref name="path"/>; a path that names nothing is "not found".</summary>
    public static GValue Find(GValue root, string path)
    {
        var steps = ParsePath(path);
        try
        {
            var (_, _, value) = GraphPaths.Resolve(root, steps);
            return value ?? throw new NotFoundException($"Nothing is stored at {path}.");
        }
        catch (FormatException e)
        {
            throw new NotFoundException($"Nothing is stored at {path}: {e.Message}");
        }
    }

    public static List<PathStep> ParsePath(string path)
    {
        try
        {
            return path.Length == 0 ? [] : GraphPaths.Parse(path);
        }
        catch (FormatException e)
        {
            throw new UsageException(e.Message, e);
        }
    }
}
