using Tosc.Cli.Commands;
using Tosc.Cli.Stores;

namespace Tosc.Cli;

/// <summary>The exit codes of <c>tosc</c> (docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int NotFound = 3;
    public const int Conflict = 4;
    public const int Data = 5;
    public const int Unreachable = 6;
}

/// <summary>A wrong command line or URI: exit code 2.</summary>
internal sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An empty store or a path that names nothing: exit code 3.</summary>
internal sealed class NotFoundException(string message) : Exception(message);

/// <summary>Another commit landed first (or the store is not at the expected version); nothing was written: exit code 4.</summary>
internal sealed class ConflictException(string message) : Exception(message);

/// <summary>Where a run of the tool reads and writes: the console for <c>tosc</c>, writers and a dictionary in tests.</summary>
internal sealed class CliContext
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    public IReadOnlyList<IStoreScheme> Schemes { get; init; } = StoreSchemes.BuiltIn;

    public TextReader In { get; init; } = TextReader.Null;

    public static CliContext Console() => new() { Out = System.Console.Out, Error = System.Console.Error, In = System.Console.In };
}

/// <summary>The tool's entry point: picks the command, runs it, and turns every failure into a message and an exit code.</summary>
internal static class Cli
{
    public const string KeyVariable = "TOSC_KEY";

    private static readonly Command[] s_commands =
    [
        new ShowCommand(), new WatchCommand(), new HistoryCommand(), new SetCommand(), new VerifyCommand(), new ExportCommand(), new ImportCommand(),
    ];

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await context.Out.WriteAsync(Help(context)).ConfigureAwait(false);
            return args.Length == 0 ? ExitCodes.Usage : ExitCodes.Ok;
        }
        if (args[0] == "--version")
        {
            await context.Out.WriteLineAsync(typeof(Cli).Assembly.GetName().Version?.ToString()).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        var command = Array.Find(s_commands, c => c.Name == args[0]);
        if (command is null)
            return await FailAsync(context, json: args.Contains("--json"), ExitCodes.Usage, $"'{args[0]}' is not a tosc command. Run 'tosc --help' for the list.").ConfigureAwait(false);
        Arguments? parsed = null;
        try
        {
            parsed = Arguments.Parse(args.AsSpan(1), command);
            if (parsed.Help)
            {
                await context.Out.WriteAsync(command.Help(context)).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            return await command.RunAsync(parsed, context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Ok;
        }
        catch (Exception e)
        {
            var json = parsed?.Json ?? args.Contains("--json");
            var (code, message) = e switch
            {
                UsageException => (ExitCodes.Usage, e.Message + (e is UsageException && parsed is null ? $"{System.Environment.NewLine}{command.Usage}" : "")),
                NotFoundException => (ExitCodes.NotFound, e.Message),
                ConflictException => (ExitCodes.Conflict, e.Message),
                ToscDataException => (ExitCodes.Data, "The stored data is not valid: " + e.Message),
                BackendException => (ExitCodes.Unreachable, "The store cannot be reached or failed: " + e.Message),
                _ => (ExitCodes.Failure, $"Unexpected {e.GetType().Name}: {e.Message}"),
            };
            return await FailAsync(context, json, code, message).ConfigureAwait(false);
        }
    }

    private static async Task<int> FailAsync(CliContext context, bool json, int code, string message)
    {
        await context.Error.WriteLineAsync(json
            ? Output.Json(writer =>
            {
                writer.WriteString("error", message);
                writer.WriteNumber("exitCode", code);
            }, indented: false)
            : "tosc: " + message).ConfigureAwait(false);
        return code;
    }

    private static string Help(CliContext context)
    {
        var nl = System.Environment.NewLine;
        var width = s_commands.Max(c => c.Usage.Length);
        return
            $"tosc: inspect, watch, change, verify, export and import Tosc stores, without the application's types.{nl}{nl}" +
            $"Usage:{nl}{string.Join(nl, s_commands.Select(c => $"  {c.Usage.PadRight(width)}  {c.Summary}"))}{nl}{nl}" +
            $"Options for every command:{nl}{Command.CommonOptions}{nl}{nl}" +
            $"Store URIs:{nl}{StoreSchemes.Forms(context.Schemes)}{nl}{nl}" +
            $"Exit codes: 0 ok, 1 unexpected failure, 2 usage error (bad arguments or URI), 3 not found (empty store, no such path),{nl}" +
            $"            4 conflict (another commit landed first; nothing written), 5 data or integrity error, 6 store unreachable or failing.{nl}" +
            $"'tosc COMMAND --help' describes a command; docs/cli.md has the details.{nl}";
    }
}
