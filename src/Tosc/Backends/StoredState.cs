namespace Tosc;

/// <summary>What a backend holds: a version, the encoded value, and the id of the write that stored it.</summary>
/// <param name="Version">The version; every successful write yields one that differs from all earlier ones.</param>
/// <param name="Data">The encoded value (see docs/wire-format.md).</param>
/// <param name="CommitId">The commit id passed to the write that stored this state; <see cref="Guid.Empty"/> when unknown.</param>
public sealed record StoredState(long Version, ReadOnlyMemory<byte> Data, Guid CommitId);
