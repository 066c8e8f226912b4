using System.Globalization;
using Tosc.Cli.Graph;
using Tosc.Cli.Stores;
using Tosc.Security;
using Tosc.Serialization;

namespace Tosc.Cli.Commands;

/// <summary><c>tosc verify URI</c>: decodes the snapshot and every log record, checks protection, and says what is wrong.</summary>
internal sealed class VerifyCommand : Command
{
    public override string Name => "verify";

    public override string Usage => "verify URI";

    public override string Summary => "Check that the store decodes and is intact (HMAC / AES-GCM with --key); exit 5 if not";

    public override int Required => 1;

    protected override string Details =>
        "Checks, in order: the protection envelope (with the key from --key or " + Cli.KeyVariable + "; a protected store without" + Environment.NewLine +
        "a key, or a key for an unprotected store, fails), the snapshot's header and graph (every length, UTF-8 string," + Environment.NewLine +
        "node id and reference), then each log record in order (its protection, base version, commit id and operations)." + Environment.NewLine +
        "Prints one line per check; exit code 5 when one fails.";

    private sealed record Check(string Name, bool Ok, string Message);

    public override async Task<int> RunAsync(Arguments args, CliContext context, CancellationToken cancellationToken)
    {
        using var backend = Open(args, context);
        var key = Key(args, context);
        var stored = await StoreContent.ReadStoredAsync(backend, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"The store {args.Positional[0]} is empty: nothing has been stored in it yet.");
        var checks = new List<Check>();
        var mode = StoreContent.ModeOf(stored.Data);
        checks.Add(Run("protection", () =>
        {
            StoreContent.Unprotect(stored.Data, key, "The snapshot");
            return mode is null ? "none (the store is not protected)"
                : $"{(mode == Envelope.Encrypted ? "AES-256-GCM" : "HMAC-SHA256")}, key id {Envelope.Id(Envelope.ReadHeader(stored.Data.Span).KeyId)}: the tag matches the key";
        }));
        GValue? root = null;
        if (checks[^1].Ok)
        {
            checks.Add(Run("snapshot", () =>
            {
                root = StoreContent.DecodeSnapshot(stored, key);
                return string.Create(CultureInfo.InvariantCulture,
                    $"version {stored.SnapshotVersion}, {stored.Data.Length} bytes, {new GraphState(root).PathsById().Count} nodes decode");
            }));
        }
        if (root is not null)
        {
            var content = StoreContent.FromSnapshot(stored, root);
            checks.Add(Run("log", () =>
            {
                foreach (var record in stored.Log)
                {
                    try
                    {
                        content.Apply([record], key);
                    }
                    catch (ToscDataException e)
                    {
                        throw new ToscDataException(string.Create(CultureInfo.InvariantCulture, $"record of version {record.Version}: {e.Message}"), e);
                    }
                }
                return stored.Log.Count == 0
                    ? "no records after the snapshot"
                    : string.Create(CultureInfo.InvariantCulture, $"{stored.Log.Count} records apply in order, up to version {content.Version}");
            }));
        }
        var ok = checks.TrueForAll(c => c.Ok);
        if (args.Json)
        {
            await WriteLineAsync(context, Output.Json(writer =>
            {
                writer.WriteBoolean("ok", ok);
                writer.WriteNumber("version", stored.Version);
                writer.WriteStartArray("checks");
                foreach (var check in checks)
                {
                    writer.WriteStartObject();
                    writer.WriteString("check", check.Name);
                    writer.WriteBoolean("ok", check.Ok);
                    writer.WriteString("message", check.Message);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            })).ConfigureAwait(false);
        }
        else
        {
            foreach (var check in checks)
                await WriteLineAsync(context, $"{(check.Ok ? "ok  " : "FAIL")}  {check.Name,-10}  {check.Message}").ConfigureAwait(false);
            await WriteLineAsync(context, ok
                ? string.Create(CultureInfo.InvariantCulture, $"{args.Positional[0]}: intact at version {stored.Version}")
                : $"{args.Positional[0]}: damaged (see FAIL above)").ConfigureAwait(false);
        }
        return ok ? ExitCodes.Ok : ExitCodes.Data;
    }

    private static Check Run(string name, Func<string> check)
    {
        try
        {
            return new Check(name, true, check());
        }
        catch (ToscDataException e)
        {
            return new Check(name, false, e.Message);
        }
    }
}
