using System.Text;
using Tosc.Live;

namespace Tosc.Feed;

/// <summary>
/// Finds the paths of nodes from the root for one batch of changes: one breadth-first walk, continued as far as each
/// question needs and remembered, so the paths of many changed nodes cost one walk of the graph at most. Steps are
/// read from the parents when asked, so an index that moved since the walk is named as it is now.
/// </summary>
internal sealed class PathFinder(object? root)
{
    private readonly Dictionary<object, ILiveNode?> _parents = new(ReferenceEqualityComparer.Instance);
    private readonly Queue<ILiveNode> _pending = new();
    private readonly Stack<ILiveNode> _children = new();
    private bool _started;

    public string Of(ILiveNode node)
    {
        if (!_parents.ContainsKey(node) && !WalkUntil(node))
        {
            // Added since the walk (or no longer in the graph): walk again from the root once.
            Restart();
            if (!WalkUntil(node))
                return $"({node.Instance.GetType().Name} no longer in the graph)";
        }
        var steps = new List<string>();
        for (var current = node; _parents[current] is { } parent; current = parent)
            steps.Add(parent.LabelOf(current));
        var path = new StringBuilder();
        for (var i = steps.Count - 1; i >= 0; i--)
            Append(path, steps[i]);
        return path.ToString();
    }

    /// <summary>A path and a step inside its node: a member joins with a dot, except at the start.</summary>
    public static string Join(string path, string step)
    {
        var joined = new StringBuilder(path);
        Append(joined, step);
        return joined.ToString();
    }

    private bool WalkUntil(ILiveNode wanted)
    {
        if (!_started)
            Restart();
        while (!_parents.ContainsKey(wanted) && _pending.TryDequeue(out var node))
        {
            node.PushChildren(_children);
            while (_children.TryPop(out var child))
            {
                if (_parents.TryAdd(child, node))
                    _pending.Enqueue(child);
            }
        }
        return _parents.ContainsKey(wanted);
    }

    private void Restart()
    {
        _started = true;
        _parents.Clear();
        _pending.Clear();
        if (Nodes.Of(root) is { } start)
        {
            _parents[start] = null;
            _pending.Enqueue(start);
        }
    }

    private static void Append(StringBuilder path, string step)
    {
        if (step.Length == 0)
            return;
        if (path.Length == 0 && step[0] == '.')
            path.Append(step, 1, step.Length - 1);
        else
            path.Append(step);
    }
}
