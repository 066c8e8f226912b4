using System.Collections;
using Tosc.Live;

namespace Tosc;

/// <summary>
/// Enumerates a live collection (<see cref="DList{T}"/>, <see cref="DDict{TKey, TValue}"/>, <see cref="DSet{T}"/>) over
/// the content it started with: a change made while it runs goes to a copy of the content, so the enumeration never
/// throws because of it and never sees it half made. Dispose it (<c>foreach</c> does) so later changes go to the
/// content in place again.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <typeparam name="TInner">The enumerator of the content.</typeparam>
public struct LiveEnumerator<T, TInner> : IEnumerator<T> where TInner : struct, IEnumerator<T>
{
    private TInner _inner;
    private Readers? _readers;

    internal LiveEnumerator(TInner inner, Readers? readers)
    {
        _inner = inner;
        _readers = readers;
    }

    /// <inheritdoc/>
    public readonly T Current => _inner.Current;

    readonly object? IEnumerator.Current => Current;

    /// <inheritdoc/>
    public bool MoveNext() => _inner.MoveNext();

    /// <summary>Ends the enumeration: changes made after it go to the content in place again.</summary>
    public void Dispose()
    {
        _readers?.Leave();
        _readers = null;
    }

    void IEnumerator.Reset() => throw new NotSupportedException("A live collection's enumeration cannot be reset; enumerate it again.");
}
