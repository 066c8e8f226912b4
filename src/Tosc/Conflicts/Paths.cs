using System.Globalization;
using System.Text;
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
        var wanted = parts.Select(p => (object)p.Node).ToHashSet(ReferenceEqualityComparer.Instance);
        var parents = FindParents(root, wanted);
        var paths = new List<string>(parts.Count);
        foreach (var (node, slot) in parts)
        {
            var path = new StringBuilder(PathOf(node, parents));
            Append(path, node.Describe(slot));
            paths.Add(path.Length == 0 ? "(root)" : path.ToString());
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

    // Breadth first, so the path found is a shortest one; stops once every wanted node is reached.
    private static Dictionary<object, ILiveNode?> FindParents(object? root, HashSet<object> wanted)
    {
        var parents = new Dictionary<object, ILiveNode?>(ReferenceEqualityComparer.Instance);
        if (Nodes.Of(root) is not { } start)
            return parents;
        parents[start] = null;
        var queue = new Queue<ILiveNode>([start]);
        var found = wanted.Contains(start) ? 1 : 0;
        var children = new Stack<ILiveNode>();
        while (found < wanted.Count && queue.TryDequeue(out var node))
        {
            node.PushChildren(children);
            while (children.TryPop(out var child))
            {
                if (!parents.TryAdd(child, node))
                    continue;
                queue.Enqueue(child);
                if (wanted.Contains(child))
                    found++;
            }
        }
        return parents;
    }

    private static string PathOf(ILiveNode node, Dictionary<object, ILiveNode?> parents)
    {
        if (!parents.ContainsKey(node))
            return $"({node.Instance.GetType().Name} no longer in the graph)";
        var labels = new List<string>();
        for (var current = node; parents[current] is { } parent; current = parent)
            labels.Add(parent.LabelOf(current));
        var path = new StringBuilder();
        for (var i = labels.Count - 1; i >= 0; i--)
            Append(path, labels[i]);
        return path.ToString();
    }

    // A member name joins with a dot, except at the start of the path.
    private static void Append(StringBuilder path, string label)
    {
        if (label.Length == 0)
            return;
        if (path.Length == 0 && label[0] == '.')
            path.Append(label, 1, label.Length - 1);
        else
            path.Append(label);
    }
}
