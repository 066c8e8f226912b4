using System.Collections;
using Tosc.Serialization;

namespace Tosc.Live;

/// <summary>
/// Dictionary keys and set elements must not change once stored: a key changed through its live proxy could become
/// equal to another, leaving a state readers refuse ("holds the key twice") or a set that silently lost an element.
/// So a value that Tosc would store as a mutable object — your classes (live proxies), live collections, counters,
/// byte arrays, plain mutable collections — is refused as a new key or element. Stores that already hold such keys
/// (written before this rule) stay readable and writable: only new keys are checked.
/// </summary>
internal static class MutableKeys
{
    public static void Check(object? key, bool element)
    {
        if (key is null || IsImmutable(key))
            return;
        var type = LiveProxies.TypeOf(key);
        var what = element ? "a set element" : "a dictionary key";
        throw new ArgumentException(
            $"A {TypeNames.Display(type)} cannot be {what}: Tosc stores it as a mutable object, and a change to it through " +
            $"its live proxy could make two {(element ? "elements" : "keys")} equal, which no reader could decode. Use an immutable " +
            "value instead: a string, a number, a Guid, an enum, or a record whose members are immutable.");
    }

    private static bool IsImmutable(object key) => key switch
    {
        string or IConvertible or Guid or DateTimeOffset or TimeSpan or Enum => true,
        ILiveNode or ILiveProxy or byte[] or IEnumerable => false,
        _ when key.GetType().IsValueType => true,
        _ => ObjectModel.For(key.GetType()).Kind == ObjectKind.Value,
    };
}
