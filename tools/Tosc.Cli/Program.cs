namespace Tosc.Cli;

/// <summary>The <c>tosc</c> process: Ctrl+C cancels the command (watch ends cleanly with exit code 0).</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        return await Cli.RunAsync(args, CliContext.Console(), cancellation.Token).ConfigureAwait(false);
    }
}
