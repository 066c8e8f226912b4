using Tosc.Changes;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Core;

/// <summary>
/// Turns: a Run that kept conflicting takes a lease, and its next commits carry a short lease of their own, so the
/// others let it commit a run of them; the turn's last commit carries none. Managers held back by a lease wake when it
/// ends or is cut short, not when the longest lease they saw would have run out.
/// </summary>
public sealed class TurnTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void ARunThatConflictedTwice_TakesATurn_ItsNextCommitsCarryAShortLease_UntilTheTurnsLastCommit()
    {
        var holder = _store.OpenQuiet();
        holder.TurnLength = TimeSpan.FromHours(1); // only the commit count ends the turn
        var other = _store.OpenQuiet();
        holder.Write(new Counter());
        var counter = holder.Read<Counter>();
        var elsewhere = other.Read<Counter>();
        var attempts = 0;

        holder.Run(() =>
        {
            if (++attempts < 3)
                elsewhere.Value += 10; // another manager wins twice: the third attempt takes a lease first
            counter.Value++;
        });

        var carried = new List<TimeSpan?>();
        carried.Add(LeaseSeenBy(other, holder));
        for (var i = 0; i < 70; i++)
        {
            holder.Run(() => counter.Value++);
            carried.Add(LeaseSeenBy(other, holder));
        }

        Assert.Equal(3, attempts);
        // The turn's commits: the one of the Run that took the lease and 62 more carry a lease; the 64th ends the turn.
        Assert.All(carried.Take(63), lease => Assert.InRange(lease!.Value, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(250)));
        Assert.All(carried.Skip(63), lease => Assert.Null(lease));
        Assert.Equal(20 + 71, _store.OpenQuiet().Read<Counter>().Value);
    }

    [Fact]
    public void ACommitWithoutATurn_CarriesNoLease()
    {
        var writer = _store.OpenQuiet();
        var other = _store.OpenQuiet();
        writer.Write(new Counter());
        var counter = writer.Read<Counter>();
        other.Read<Counter>();

        writer.Run(() => counter.Value++);

        Assert.Null(LeaseSeenBy(other, writer));
    }

    [Fact]
    public async Task AManagerHeldBackByALongLease_WakesWhenItsHolderShortensIt_AndCommitsWhenTheShortOneRunsOut()
    {
        var waiter = _store.Open();
        waiter.Write(new Counter());
        var counter = waiter.Read<Counter>();
        var version = waiter.Version!.Value;
        var holder = Guid.NewGuid();

        // Another manager's lease for an hour, then (before anything else lands) the same holder's for 5 ms, as a
        // turn's first commit does with the lease its Run took.
        var leased = AppendLease(version, holder, TimeSpan.FromHours(1));
        Eventually.True(() => waiter.Version == leased && waiter.LeaseInForce?.Holder == holder, "the waiter sees the lease");
        var running = waiter.RunAsync(() =>
        {
            counter.Value++;
            return Task.CompletedTask;
        });
        var shortened = AppendLease(leased, holder, TimeSpan.FromMilliseconds(5));

        await Eventually.Within(running.ContinueWith(_ => true, TaskScheduler.Default), "the waiter's Run, held back by a lease cut to 5 ms");
        await running;
        Assert.True(shortened > leased);
        Assert.Equal(1, _store.OpenQuiet().Read<Counter>().Value);
    }

    [Fact]
    public async Task AManagerHeldBackByALease_RunsAsSoonAsARecordEndsIt()
    {
        var waiter = _store.Open();
        waiter.Write(new Counter());
        var counter = waiter.Read<Counter>();
        var leased = AppendLease(waiter.Version!.Value, Guid.NewGuid(), TimeSpan.FromHours(1));
        Eventually.True(() => waiter.Version == leased && waiter.LeaseInForce is not null, "the waiter sees the lease");
        var running = waiter.RunAsync(() =>
        {
            counter.Value++;
            return Task.CompletedTask;
        });

        // Appended at the lease's version: it lands only because the waiter did not commit meanwhile.
        var commitId = Guid.NewGuid();
        Assert.NotNull(_store.Backend.TryAppend(OpEncoder.Empty(leased, commitId), leased, commitId));

        await Eventually.Within(running.ContinueWith(_ => true, TaskScheduler.Default), "the waiter's Run after the lease ended");
        await running;
        Assert.Equal(1, _store.OpenQuiet().Read<Counter>().Value);
    }

    /// <summary>Appends a record holding only a lease, at <paramref name="version"/>; returns the new version.</summary>
    private long AppendLease(long version, Guid holder, TimeSpan duration)
    {
        var commitId = Guid.NewGuid();
        var appended = _store.Backend.TryAppend(OpEncoder.Lease(version, commitId, holder, duration), version, commitId);
        Assert.NotNull(appended);
        return appended.Value.Version;
    }

    /// <summary>The lease <paramref name="observer"/> sees after catching up, when <paramref name="holder"/> holds it.</summary>
    private static TimeSpan? LeaseSeenBy(Manager observer, Manager holder)
    {
        observer.Refresh<Counter>();
        return observer.LeaseInForce is { } lease && lease.Holder == holder.HolderId ? lease.Duration : null;
    }
}
