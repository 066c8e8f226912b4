using System.Globalization;
using Tosc.Cli.Stores;

namespace Tosc.Cli.Commands;

/// <summary><c>tosc import URI FILE</c>: stores a JSON file (as 'tosc export' writes it) as the whole state, by compare-and-swap.</summary>
internal sealed class ImportCommand : Command
{
    public override string Name => "import";

    public override string Usage => "import URI FILE [--expect-version V]";

    public override string Summary => "Replace the whole state with a JSON file (from 'tosc export'; '-' reads stdin)";

    public override int Required => 2;

    protected override IEnumerable<(string Name, bool TakesValue)> OwnOptions => [("--expect-version", true)];

    protected override string Details =>
        "The file is a value in the tool's JSON form (docs/cli.md): stored type names and node ids (\"$id\") are written" + Environment.NewLine +
        "as they are, nodes without an id get a new one. The whole state is replaced by compare-and-swap against the" + Environment.NewLine +
        "version read (or --expect-version V): if another commit lands first, nothing is written and the exit code is 4." + Environment.NewLine +
        "A protected store is written with the key (--key or " + Cli.KeyVariable + ") in the mode it uses; an empty store with a key is" + Environment.NewLine +
        "authenticated (HMAC-SHA256). The tool does not check the value against the application's classes.";

    public override async Task<int> RunAsync(Arguments args, CliContext context, CancellationToken cancellationToken)
    {
        var file = args.Positional[1];
        string json;
        try
        {
            json = file == "-"
                ? await context.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false)
                : await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new UsageException($"Cannot read {file}: {e.Message}", e);
        }
        var root = SetCommand.ParseValue(json);
        var key = Key(args, context);
        var expected = args.GetNumber("--expect-version");
        using var backend = Open(args, context);
        var content = await StoreContent.ReadAsync(backend, key, cancellationToken).ConfigureAwait(false);
        if (expected is { } wanted && wanted != content?.Version)
            throw SetCommand.Conflict(wanted, content?.Version);
        var commitId = Guid.NewGuid();
        var version = await SetCommand.WriteWholeAsync(backend, content, root, key, commitId, cancellationToken).ConfigureAwait(false)
            ?? throw SetCommand.Conflict(content?.Version ?? 0, await backend.ReadVersionAsync(cancellationToken).ConfigureAwait(false));
        await WriteLineAsync(context, args.Json
            ? Output.Json(writer =>
            {
                writer.WriteNumber("version", version);
                writer.WriteString("commit", commitId.ToString("N"));
            })
            : string.Create(CultureInfo.InvariantCulture, $"imported {file} as version {version} (commit {Output.Commit(commitId)})")).ConfigureAwait(false);
        return ExitCodes.Ok;
    }
}
