using System.Globalization;
using System.Text.Json;
using Tosc.Cli.Graph;
using Tosc.Cli.Stores;

namespace Tosc.Cli.Commands;

/// <summary>
/// <c>tosc set URI PATH JSON</c>: one change, committed by compare-and-swap against the version read. On a store with a
/// log it appends one record with one Set operation, as a manager's commit would; otherwise it writes the whole state.
/// </summary>
internal sealed class SetCommand : Command
{
    public override string Name => "set";

    public override string Usage => "set URI PATH JSON [--expect-version V] [--force]";

    public override string Summary => "Commit one change by compare-and-swap; exit 4 on a conflict (nothing written)";

    public override int Required => 3;

    protected override IEnumerable<(string Name, bool TakesValue)> OwnOptions => [("--expect-version", true), ("--force", false)];

    protected override string Details =>
        "PATH is a member, list index or dictionary key (Stock[\"apples\"], Items[2].Limit); '$' is the whole state." + Environment.NewLine +
        "JSON is the new value in the tool's JSON form (docs/cli.md). A plain number or string takes the stored kind of the" + Environment.NewLine +
        "value it replaces (decimal, DateTime, Guid, counter, float...), so 'set URI Price 9.5' keeps a decimal a decimal." + Environment.NewLine +
        "The new value must have the shape of the one it replaces (same kind, same stored type name), and an object member" + Environment.NewLine +
        "must exist: otherwise the application's managers could not read the store. --force skips these checks." + Environment.NewLine + Environment.NewLine +
        "  --expect-version V   commit only if the store is at version V (what a script read before); else exit 4" + Environment.NewLine +
        "  --force              write a value of another shape, or a member the object does not have yet";

    public override async Task<int> RunAsync(Arguments args, CliContext context, CancellationToken cancellationToken)
    {
        var (path, json) = (args.Positional[1], args.Positional[2]);
        var steps = ShowCommand.ParsePath(path == "$" ? "" : path);
        var force = args.Has("--force");
        var key = Key(args, context);
        var expected = args.GetNumber("--expect-version");
        using var backend = Open(args, context);
        var content = await ReadAsync(backend, args, context, cancellationToken).ConfigureAwait(false);
        if (expected is { } wanted && wanted != content.Version)
            throw Conflict(wanted, content.Version);
        var value = ParseValue(json);
        var commitId = Guid.NewGuid();
        long? version;
        if (steps.Count == 0)
        {
            value = Coerce(path, content.State.Root, value, force);
            version = await WriteWholeAsync(backend, content, value, key, commitId, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var (parent, step, old) = Resolve(content.State.Root, steps, path);
            if (parent.Kind is not (GKind.Object or GKind.Dict or GKind.List))
                throw new UsageException($"{path} is inside {parent.Describe()}, which is not changed in place: set the whole {parent.Describe()} at its own path.");
            if (old is null && parent.Kind == GKind.Object && !force)
                throw new NotFoundException($"{path}: {parent.Describe()} has no member {((PathStep.Member)step).Name} (it has {string.Join(", ", parent.Members.Select(m => m.Key))}). Pass --force to add it.");
            if (old is null && parent.Kind == GKind.List)
                throw new NotFoundException($"{path}: the list has {parent.Items.Count} elements.");
            if (old is null && parent.Kind == GKind.Dict && parent.Entries.Count > 0 && step is PathStep.Key newKey)
            {
                // A new key: keys and values take the stored kinds of an entry already there (a Guid key, a decimal value).
                var (siblingKey, siblingValue) = parent.Entries[0];
                step = new PathStep.Key(Coerce(path, siblingKey, newKey.Value, force, keepsNode: false));
                var at = parent.FindEntry(((PathStep.Key)step).Value);
                old = at >= 0 ? parent.Entries[at].Value : null;
                if (old is null)
                    value = Coerce(path, siblingValue, value, force, keepsNode: false);
            }
            if (old is not null)
                value = Coerce(path, old, value, force);
            var keyValue = step switch
            {
                PathStep.Member member => GValue.Of(GKind.String, member.Name),
                PathStep.Index index => GValue.Of(GKind.Int, (long)index.Position),
                PathStep.Key k => parent.FindEntry(k.Value) is var at and >= 0 ? parent.Entries[at].Key : k.Value,
                _ => throw new InvalidOperationException(),
            };
            if (backend is ToscBackend { SupportsLog: true } logged)
            {
                var record = GraphEncoder.EncodeSetRecord(content.Version, commitId, parent.Id, keyValue, value);
                var appended = await logged.TryAppendAsync(StoreContent.Protect(content, record, key), content.Version, commitId, cancellationToken).ConfigureAwait(false);
                version = appended?.Version;
            }
            else
            {
                Replace(parent, step, keyValue, value);
                version = await WriteWholeAsync(backend, content, content.State.Root, key, commitId, cancellationToken).ConfigureAwait(false);
            }
        }
        if (version is null)
        {
            var now = await backend.ReadVersionAsync(cancellationToken).ConfigureAwait(false);
            throw Conflict(content.Version, now);
        }
        if (args.Json)
        {
            await WriteLineAsync(context, Output.Json(writer =>
            {
                writer.WriteNumber("version", version.Value);
                writer.WriteString("commit", commitId.ToString("N"));
                writer.WriteString("path", path);
                Output.WriteValue(writer, "value", value);
            })).ConfigureAwait(false);
        }
        else
        {
            await WriteLineAsync(context, string.Create(CultureInfo.InvariantCulture,
                $"{path} = {GraphJson.Write(value, indented: false)}  (version {version}, commit {Output.Commit(commitId)})")).ConfigureAwait(false);
        }
        return ExitCodes.Ok;
    }

    internal static ConflictException Conflict(long expected, long? actual) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"The store is at version {(actual is null ? "(empty)" : actual.Value.ToString(CultureInfo.InvariantCulture))}, not {expected}: another commit landed first. Nothing was written; read the store again and retry."));

    internal static GValue ParseValue(string json)
    {
        try
        {
            return GraphJson.Read(json);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or OverflowException)
        {
            throw new UsageException($"The value is not valid JSON in the tool's form: {e.Message}", e);
        }
    }

    /// <summary>Compare-and-swap of the whole state against the version read.</summary>
    internal static async Task<long?> WriteWholeAsync(IBackend backend, StoreContent? content, GValue root, byte[]? key, Guid commitId, CancellationToken cancellationToken)
    {
        var data = StoreContent.Protect(content, GraphEncoder.EncodeValue(root), key);
        return await backend.TryWriteAsync(data, content?.Version, commitId, cancellationToken).ConfigureAwait(false);
    }

    private static (GValue Parent, PathStep Step, GValue? Old) Resolve(GValue root, List<PathStep> steps, string path)
    {
        try
        {
            var (parent, step, old) = GraphPaths.Resolve(root, steps);
            return parent is null || step is null ? throw new NotFoundException($"Nothing is stored at {path}: a step before its last is missing.") : (parent, step, old);
        }
        catch (FormatException e)
        {
            throw new NotFoundException($"Nothing is stored at {path}: {e.Message}");
        }
    }

    private static void Replace(GValue parent, PathStep step, GValue key, GValue value)
    {
        switch (step)
        {
            case PathStep.Member member:
                var slot = parent.Members.FindIndex(m => m.Key == member.Name);
                if (slot >= 0)
                    parent.Members[slot] = new(member.Name, value);
                else
                    parent.Members.Add(new(member.Name, value));
                break;
            case PathStep.Index index:
                parent.Items[index.Position] = value;
                break;
            default:
                var at = parent.FindEntry(key);
                if (at >= 0)
                    parent.Entries[at] = new(key, value);
                else
                    parent.Entries.Add(new(key, value));
                break;
        }
    }

    /// <summary>
    /// Gives a plain JSON value the stored kind of the value it replaces (or of a sibling entry, with
    /// <paramref name="keepsNode"/> false), and refuses another shape (unless forced): the application reading the store
    /// declares that member's type, and would refuse the state otherwise.
    /// </summary>
    internal static GValue Coerce(string path, GValue old, GValue value, bool force, bool keepsNode = true)
    {
        var coerced = (old.Kind, value.Kind) switch
        {
            (GKind.Ext, GKind.Int or GKind.UInt or GKind.Float64 or GKind.String) => Retag(old, value),
            (GKind.Float64, GKind.Int or GKind.UInt) => GValue.Of(GKind.Float64, Convert.ToDouble(value.Scalar, CultureInfo.InvariantCulture)),
            (GKind.Float32, GKind.Int or GKind.UInt or GKind.Float64) => GValue.Of(GKind.Float32, Convert.ToSingle(value.Scalar, CultureInfo.InvariantCulture)),
            (GKind.Enum, GKind.Int) => GValue.EnumValue(old.TypeName!, (long)value.Scalar!),
            (GKind.Counter, GKind.Int) => Node(GKind.Counter, value.Scalar!),
            (GKind.Bytes, GKind.String) => Node(GKind.Bytes, Convert.FromBase64String((string)value.Scalar!)),
            _ => value,
        };
        // A node replaced by one of its kind keeps its id: managers update the node in place, and references stay valid.
        if (keepsNode && old.IsNode && coerced.IsNode && old.Kind == coerced.Kind && old.TypeName == coerced.TypeName)
            coerced.Id = old.Id;
        var sameShape = old.Kind == GKind.Null || coerced.Kind == GKind.Null
            || (Family(old) == Family(coerced) && old.TypeName == coerced.TypeName && (old.Kind != GKind.Ext || old.ExtType == coerced.ExtType));
        if (!sameShape && !force)
            throw new UsageException($"{(path.Length == 0 ? "The root" : path)} holds {old.Describe()}; writing {coerced.Describe()} there would leave a state the application may refuse. Give a value of the same shape, or pass --force.");
        return coerced;
    }

    private static GKind Family(GValue value) => value.Kind == GKind.UInt ? GKind.Int : value.Kind;

    private static GValue Node(GKind kind, object scalar)
    {
        var node = GValue.Node(kind, GraphJson.NewId());
        node.Scalar = scalar;
        return node;
    }

    /// <summary>A plain number or string read as the extension kind of the stored value (its JSON tag, e.g. "$decimal").</summary>
    private static GValue Retag(GValue old, GValue value)
    {
        using var stored = JsonDocument.Parse(GraphJson.Write(old, indented: false));
        var tagged = stored.RootElement.EnumerateObject().Select(p => p.Name == stored.RootElement.EnumerateObject().First().Name
            ? $"\"{p.Name}\": {GraphJson.Write(value, indented: false)}"
            : $"\"{p.Name}\": {p.Value.GetRawText()}");
        return GraphJson.Read("{" + string.Join(", ", tagged) + "}");
    }
}
