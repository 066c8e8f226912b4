using System.Globalization;
using System.Text;

namespace Tosc.Cli.Graph;

/// <summary>One step of a path: an object member, a list index, or a dictionary key.</summary>
internal abstract record PathStep
{
    public sealed record Member(string Name) : PathStep;

    public sealed record Index(int Position) : PathStep;

    public sealed record Key(GValue Value) : PathStep;
}

/// <summary>
/// Paths into a stored graph in the notation the core uses for conflicts and the change feed:
/// <c>Stock["apples"]</c>, <c>Items[2].Limit</c>, <c>["key"]</c> at a dictionary root, <c>[3]</c> at a list root.
/// </summary>
internal static class GraphPaths
{
    public static string Render(IEnumerable<PathStep> steps)
    {
        var text = new StringBuilder();
        foreach (var step in steps)
            Append(text, step);
        return text.ToString();
    }

    public static string Append(string path, PathStep step)
    {
        var text = new StringBuilder(path);
        Append(text, step);
        return text.ToString();
    }

    private static void Append(StringBuilder text, PathStep step)
    {
        switch (step)
        {
            case PathStep.Member member:
                if (text.Length > 0)
                    text.Append('.');
                text.Append(member.Name);
                break;
            case PathStep.Index index:
                text.Append('[').Append(index.Position.ToString(CultureInfo.InvariantCulture)).Append(']');
                break;
            case PathStep.Key key:
                text.Append('[').Append(GraphJson.KeyText(key.Value)).Append(']');
                break;
        }
    }

    /// <summary>Parses <c>A.B[2]["k"][5]</c>; a bracket holds an integer (an index, or an integer key) or a JSON key.</summary>
    public static List<PathStep> Parse(string path)
    {
        var steps = new List<PathStep>();
        var i = 0;
        path = path.Trim();
        if (path is "$" or ".")
            return steps;
        while (i < path.Length)
        {
            if (path[i] == '.' && steps.Count > 0)
                i++;
            if (i < path.Length && path[i] == '[')
            {
                var end = FindClose(path, i);
                var inside = path[(i + 1)..end].Trim();
                steps.Add(int.TryParse(inside, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var index)
                    ? new PathStep.Index(index)
                    : new PathStep.Key(KeyOf(inside, path)));
                i = end + 1;
                continue;
            }
            var start = i;
            while (i < path.Length && path[i] is not '.' and not '[')
                i++;
            var name = path[start..i];
            if (name.Length == 0 || !name.All(c => char.IsLetterOrDigit(c) || c == '_'))
                throw new FormatException($"The path \"{path}\" is not valid at offset {start}: expected a member name, [index] or [\"key\"] (e.g. Stock[\"apples\"], Items[2].Limit).");
            steps.Add(new PathStep.Member(name));
        }
        return steps;
    }

    private static int FindClose(string path, int open)
    {
        var inString = false;
        for (var i = open + 1; i < path.Length; i++)
        {
            var c = path[i];
            if (inString && c == '\\')
                i++;
            else if (c == '"')
                inString = !inString;
            else if (c == ']' && !inString)
                return i;
        }
        throw new FormatException($"The path \"{path}\" has a '[' at offset {open} without its ']'.");
    }

    private static GValue KeyOf(string inside, string path)
    {
        try
        {
            return GraphJson.Read(inside);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new FormatException($"The key [{inside}] in the path \"{path}\" is not JSON: write a string key as [\"text\"].", e);
        }
    }

    /// <summary>The value a path names, with the container it is in and the step into it; null when a step is missing.</summary>
    public static (GValue? Parent, PathStep? Step, GValue? Value) Resolve(GValue root, IReadOnlyList<PathStep> steps)
    {
        GValue? parent = null;
        PathStep? last = null;
        var current = root;
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            var next = Step(current, step, out var normalized);
            parent = current;
            last = normalized;
            if (next is null)
                return i == steps.Count - 1 ? (parent, last, null) : (null, null, null);
            current = next;
        }
        return (parent, last, current);
    }

    /// <summary>Follows one step; an integer bracket on a dictionary is an integer key.</summary>
    private static GValue? Step(GValue value, PathStep step, out PathStep normalized)
    {
        normalized = step;
        switch (value.Kind, step)
        {
            case (GKind.Object or GKind.ValueObject, PathStep.Member member):
                return value.Member(member.Name);
            case (GKind.List or GKind.Array or GKind.Set, PathStep.Index index):
                return index.Position >= 0 && index.Position < value.Items.Count ? value.Items[index.Position] : null;
            case (GKind.Dict, PathStep.Index index):
                normalized = new PathStep.Key(GValue.Of(GKind.Int, (long)index.Position));
                return Lookup(value, (PathStep.Key)normalized);
            case (GKind.Dict, PathStep.Key key):
                return Lookup(value, key);
            default:
                throw new FormatException($"The path cannot go into {value.Describe()} with {Render([step])}.");
        }
    }

    private static GValue? Lookup(GValue dict, PathStep.Key key)
    {
        var found = dict.FindEntry(key.Value);
        return found < 0 ? null : dict.Entries[found].Value;
    }
}
