using Tosc.Cli.Stores;

namespace Tosc.Cli.Commands;

/// <summary>One <c>tosc</c> command: its name, arguments, options and help, and what it does.</summary>
internal abstract class Command
{
    public static readonly string CommonOptions = string.Join(Environment.NewLine,
        "  --json        machine-readable output (errors too, on stderr: {\"error\": ..., \"exitCode\": N})",
        $"  --key BASE64  the store's protection key (docs/security.md); default: the {Cli.KeyVariable} environment variable",
        "  -h, --help    this help");

    public abstract string Name { get; }

    /// <summary>The synopsis, e.g. <c>show URI [--path P]</c>.</summary>
    public abstract string Usage { get; }

    public abstract string Summary { get; }

    /// <summary>What the command does, its options and its output, for <c>--help</c>.</summary>
    protected abstract string Details { get; }

    public abstract int Required { get; }

    public virtual int Positionals => Required;

    /// <summary>The command's own options (name, whether it takes a value), besides the common ones.</summary>
    protected virtual IEnumerable<(string Name, bool TakesValue)> OwnOptions => [];

    public IReadOnlyDictionary<string, bool> Options =>
        OwnOptions.Concat([("--json", false), ("--key", true)]).ToDictionary(o => o.Item1, o => o.Item2);

    public abstract Task<int> RunAsync(Arguments args, CliContext context, CancellationToken cancellationToken);

    public string Help(CliContext context)
    {
        var nl = Environment.NewLine;
        return $"Usage: tosc {Usage}{nl}{nl}{Summary}.{nl}{nl}{Details}{nl}{nl}Common options:{nl}{CommonOptions}{nl}{nl}" +
            $"URI forms:{nl}{StoreSchemes.Forms(context.Schemes)}{nl}";
    }

    protected static IBackend Open(Arguments args, CliContext context) =>
        StoreSchemes.Open(args.Positional[0], context.Schemes, context.Environment);

    /// <summary>The protection key from --key or TOSC_KEY, or null.</summary>
    protected static byte[]? Key(Arguments args, CliContext context)
    {
        var text = args.Get("--key") ?? context.Environment(Cli.KeyVariable);
        if (string.IsNullOrWhiteSpace(text))
            return null;
        try
        {
            return Convert.FromBase64String(text.Trim());
        }
        catch (FormatException e)
        {
            throw new UsageException($"The key (--key or {Cli.KeyVariable}) must be Base64: {e.Message}", e);
        }
    }

    /// <summary>Reads the whole store; an empty store is "not found".</summary>
    protected static async Task<StoreContent> ReadAsync(IBackend backend, Arguments args, CliContext context, CancellationToken cancellationToken) =>
        await StoreContent.ReadAsync(backend, Key(args, context), cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"The store {args.Positional[0]} is empty: nothing has been stored in it yet.");

    protected static async Task WriteLineAsync(CliContext context, string text) =>
        await context.Out.WriteLineAsync(text).ConfigureAwait(false);
}
