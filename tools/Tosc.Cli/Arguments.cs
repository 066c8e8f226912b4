using System.Globalization;

namespace Tosc.Cli;

/// <summary>A command's arguments: positionals in order, options by name (<c>--name value</c> or <c>--name=value</c>).</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string?> _options = [];

    public List<string> Positional { get; } = [];

    public bool Help { get; private set; }

    public bool Json => Has("--json");

    public bool Has(string option) => _options.ContainsKey(option);

    public string? Get(string option) => _options.GetValueOrDefault(option);

    /// <summary>An option's integer value (a version, a count); null when the option is not given.</summary>
    public long? GetNumber(string option) =>
        Get(option) is { } text
            ? long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
                ? number
                : throw new UsageException($"{option} takes a number, not '{text}'.")
            : null;

    public static Arguments Parse(ReadOnlySpan<string> args, Commands.Command command)
    {
        var parsed = new Arguments();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                parsed.Help = true;
                continue;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg == "--")
            {
                parsed.Positional.Add(arg);
                continue;
            }
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg : arg[..equals];
            if (!command.Options.TryGetValue(name, out var takesValue))
                throw new UsageException($"'{name}' is not an option of 'tosc {command.Name}'.");
            string? value = null;
            if (takesValue)
            {
                if (equals >= 0)
                    value = arg[(equals + 1)..];
                else if (i + 1 < args.Length)
                    value = args[++i];
                else
                    throw new UsageException($"{name} needs a value.");
            }
            else if (equals >= 0)
            {
                throw new UsageException($"{name} takes no value.");
            }
            parsed._options[name] = value;
        }
        if (!parsed.Help && (parsed.Positional.Count < command.Required || parsed.Positional.Count > command.Positionals))
            throw new UsageException($"'tosc {command.Name}' takes {Count(command)}, not {parsed.Positional.Count}.");
        return parsed;
    }

    private static string Count(Commands.Command command) =>
        command.Required == command.Positionals
            ? $"{command.Required} argument{(command.Required == 1 ? "" : "s")}"
            : $"{command.Required} to {command.Positionals} arguments";
}
