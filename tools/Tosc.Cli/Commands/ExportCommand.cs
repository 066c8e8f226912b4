using System.Text;
using Tosc.Cli.Graph;

namespace Tosc.Cli.Commands;

/// <summary><c>tosc export URI [FILE]</c>: the whole state in the JSON form, every node with its id, for <c>tosc import</c>.</summary>
internal sealed class ExportCommand : Command
{
    public override string Name => "export";

    public override string Usage => "export URI [FILE]";

    public override string Summary => "Write the whole state as JSON (to FILE, or stdout) for 'tosc import'";

    public override int Required => 1;

    public override int Positionals => 2;

    protected override string Details =>
        "Every node keeps its \"$id\", so importing the file back gives the same stored graph (node identity included);" + Environment.NewLine +
        "stored type names are kept as they are. The version goes to stderr.";

    public override async Task<int> RunAsync(Arguments args, CliContext context, CancellationToken cancellationToken)
    {
        using var backend = Open(args, context);
        var content = await ReadAsync(backend, args, context, cancellationToken).ConfigureAwait(false);
        var json = GraphJson.Write(content.State.Root, indented: true, allIds: true);
        if (args.Positional.Count > 1)
        {
            await File.WriteAllTextAsync(args.Positional[1], json + Environment.NewLine, new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
            await context.Error.WriteLineAsync($"exported version {content.Version} to {args.Positional[1]}").ConfigureAwait(false);
        }
        else
        {
            await WriteLineAsync(context, json).ConfigureAwait(false);
        }
        return ExitCodes.Ok;
    }
}
