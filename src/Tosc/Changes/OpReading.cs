using System.Globalization;
using Tosc.Live;

namespace Tosc.Changes;

/// <summary>The checks every node applies to the operations it reads from a log record.</summary>
internal static class OpReading
{
    /// <summary>An index that must name an element (<paramref name="inclusiveEnd"/>: or the end, for an insert).</summary>
    public static void CheckIndex(int index, int count, bool inclusiveEnd, ILiveNode node)
    {
        if (index < 0 || index > count || (index == count && !inclusiveEnd))
            throw new ToscDataException(string.Create(CultureInfo.InvariantCulture,
                $"A log record names index {index} of {Describe(node)}, which holds {count} elements: the record does not follow the state it was applied to."));
    }

    public static ToscDataException Unexpected(OpKind kind, ILiveNode node) =>
        new($"A log record applies the operation {kind} to {Describe(node)}, which has no such operation.");

    public static ToscDataException Missing(string what, ILiveNode node) =>
        new($"A log record removes {what} from {Describe(node)}, which does not hold it: the record does not follow the state it was applied to.");

    private static string Describe(ILiveNode node) =>
        string.Create(CultureInfo.InvariantCulture, $"node {node.Header.Id:x16} ({node.Instance.GetType().Name})");
}
