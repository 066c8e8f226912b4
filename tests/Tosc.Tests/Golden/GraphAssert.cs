using System.Collections;
using System.Reflection;
using Tosc.Live;
using Xunit;

namespace Tosc.Tests.Golden;

/// <summary>
/// Compares a decoded graph (live or plain) with the graph that was stored: the same values with the same
/// runtime types for scalars, the same items in the same order, and the same sharing (a node met twice in
/// the expected graph is one object in the actual graph too).
/// </summary>
internal static class GraphAssert
{
    public static void Equivalent(object? expected, object? actual) =>
        Compare(expected, actual, "root", new Dictionary<object, object>(ReferenceEqualityComparer.Instance));

    private static void Compare(object? expected, object? actual, string path, Dictionary<object, object> pairs)
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {Show(expected)} but found {Show(actual)}.");
            return;
        }
        switch (expected)
        {
            case byte[] bytes when actual is not byte[] && HasIdentity(actual):
                Track(expected, actual, path, pairs);
                Assert.Equal(bytes, ((IEnumerable<byte>)actual).ToArray());
                return;
            case byte[] bytes:
                Assert.Equal(bytes, Assert.IsType<byte[]>(actual));
                return;
            case DateTime time:
                Assert.Equal((time.Ticks, time.Kind), (Assert.IsType<DateTime>(actual).Ticks, ((DateTime)actual).Kind));
                return;
            case DateTimeOffset offset:
                Assert.Equal((offset.Ticks, offset.Offset), (Assert.IsType<DateTimeOffset>(actual).Ticks, ((DateTimeOffset)actual).Offset));
                return;
            case string or ValueType when !IsUserStruct(expected.GetType()):
                Assert.True(expected.GetType() == actual.GetType(), $"{path}: expected a {expected.GetType()} but found a {actual.GetType()}.");
                Assert.True(expected.Equals(actual), $"{path}: expected {Show(expected)} but found {Show(actual)}.");
                return;
        }
        if (!Track(expected, actual, path, pairs))
            return;
        if (IsDictionary(expected))
        {
            var left = Entries(expected);
            var right = Entries(actual);
            Assert.True(left.Count == right.Count, $"{path}: expected {left.Count} entries but found {right.Count}.");
            for (var i = 0; i < left.Count; i++)
            {
                Compare(left[i].Key, right[i].Key, $"{path}.key[{i}]", pairs);
                Compare(left[i].Value, right[i].Value, $"{path}[{left[i].Key}]", pairs);
            }
            return;
        }
        if (expected is IEnumerable sequence)
        {
            var left = sequence.Cast<object?>().ToList();
            var right = Assert.IsAssignableFrom<IEnumerable>(actual).Cast<object?>().ToList();
            Assert.True(left.Count == right.Count, $"{path}: expected {left.Count} items but found {right.Count}.");
            for (var i = 0; i < left.Count; i++)
                Compare(left[i], right[i], $"{path}[{i}]", pairs);
            return;
        }
        var model = ObjectModel.For(expected.GetType());
        Assert.True(model.Type.IsInstanceOfType(actual), $"{path}: expected a {model.Type} but found a {actual.GetType()}.");
        foreach (var property in model.Properties)
            Compare(property.Info.GetValue(expected), property.Info.GetValue(actual), $"{path}.{property.Name}", pairs);
    }

    /// <summary>Pairs an expected node with the actual one; false when the pair was compared already.</summary>
    private static bool Track(object expected, object actual, string path, Dictionary<object, object> pairs)
    {
        if (!HasIdentity(expected))
            return true;
        if (pairs.TryGetValue(expected, out var seen))
        {
            Assert.True(ReferenceEquals(seen, actual), $"{path}: the expected graph shares this node, the actual one does not.");
            return false;
        }
        pairs.Add(expected, actual);
        return true;
    }

    // Arrays, records and structs are immutable values: stored by value, so sharing is not kept.
    private static bool HasIdentity(object value) =>
        !value.GetType().IsArray && !value.GetType().IsValueType && value.GetType().GetMethod("<Clone>$") is null;

    private static bool IsUserStruct(Type type) => type.IsValueType && !type.IsPrimitive && !type.IsEnum && type.Namespace != "System";

    private static bool IsDictionary(object value) => value.GetType().GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));

    private static List<(object? Key, object? Value)> Entries(object dictionary) =>
        [.. ((IEnumerable)dictionary).Cast<object>().Select(entry =>
        {
            var type = entry.GetType();
            return (type.GetProperty("Key")!.GetValue(entry), type.GetProperty("Value")!.GetValue(entry));
        })];

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"\"{(s.Length > 40 ? s[..40] + "..." : s)}\"",
        _ => $"{value} ({value.GetType().Name})",
    };
}
