namespace Tosc;

/// <summary>One commit in a store's operation log: the version it produced, the id of the commit, and its encoded operations.</summary>
/// <param name="Version">The version this record produced; it follows the version before it (the previous record, or the snapshot).</param>
/// <param name="CommitId">The commit id passed to the append that stored it.</param>
/// <param name="Data">The encoded record (see docs/wire-format.md, "Log records").</param>
public sealed record LogRecord(long Version, Guid CommitId, ReadOnlyMemory<byte> Data);
