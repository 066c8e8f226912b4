using System.Runtime.CompilerServices;

namespace Tosc.Serialization;

/// <summary>
/// Boxes decoded and converted values, sharing one box for each bool and each small int: such values are common
/// (counts, flags, states), and a value passes boxed through decoding, change records and undo before it reaches a
/// live object's field, so sharing saves an allocation each time.
/// </summary>
internal static class Boxes
{
    private const int SmallestShared = -128;
    private const int LargestShared = 1023;

    private static readonly object[] s_ints = [.. Enumerable.Range(SmallestShared, LargestShared - SmallestShared + 1).Select(static i => (object)i)];
    private static readonly object s_true = true;
    private static readonly object s_false = false;

    public static object? Of<T>(T value)
    {
        // Both tests fold away when the JIT specializes this method for a value type.
        if (typeof(T) == typeof(int))
        {
            var number = Unsafe.As<T, int>(ref value);
            if (number is >= SmallestShared and <= LargestShared)
                return s_ints[number - SmallestShared];
        }
        else if (typeof(T) == typeof(bool))
        {
            return Unsafe.As<T, bool>(ref value) ? s_true : s_false;
        }
        return value;
    }
}
