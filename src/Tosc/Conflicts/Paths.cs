using System.Globalization;
using Tosc.Live;

namespace Tosc.Conflicts;

/// <summary>
/// Names parts of the live graph the way C# reaches them from the root: <c>Stock["apples"]</c>, <c>Items[2].Limit</c>,
/// <c>Tags{"red"}</c>, <c>Journal.Count</c>. For diagnostics: found by a walk from the root, only when a conflict happened.
/// </summary>
internal static class Paths
{
    /// <summary>The path of each (node, part) pair, in order; a node no longer reachable from the root is named by its type.</summary>
    public static List<string> Describe(object? root, IReadOnlyList<(ILiveNode Node, object Slot)> parts)
    {
        var finder = new Feed.PathFinder(root);
        var paths = new List<string>(parts.Count);
        foreach (var (node, slot) in parts)
        {
            var path = Feed.PathFinder.Join(finder.Of(node), node.Describe(slot));
            paths.Add(path.Length == 0 ? "(root)" : path);
        }
        return paths;
    }

    /// <summary>How a key or element reads in a path: strings quoted, the rest as the invariant culture writes them.</summary>
    public static string Key(object? key) => key switch
    {
        null => "null",
        string text => "\"" + text.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => key.ToString() ?? key.GetType().Name,
    };
}
