namespace Tosc.Transactions;

/// <summary>A point in a transaction to undo back to: how many changes and encoded operations it had.</summary>
internal readonly record struct Savepoint(int Changes, (int Length, int Count, int Written) Ops);
