using Xunit;

namespace Tosc.Tests.Backends;

/// <summary>
/// The records a store pushes with its notifications, as a watcher takes them: only records that follow its version
/// one after another, whatever order they arrived in; and a probe of the store skipped only while nothing newer than
/// the watcher's version was announced since the pushes were last complete.
/// </summary>
public sealed class PushedRecordsTests
{
    private static LogRecord Record(long version) => new(version, Guid.NewGuid(), new byte[] { (byte)version });

    [Fact]
    public void After_GivesTheRecordsThatFollowAVersionInOrder_WhateverOrderTheyArrivedIn()
    {
        var pushed = new PushedRecords();
        pushed.Add(30, Record(40));
        pushed.Add(10, Record(20));
        pushed.Add(20, Record(30));

        Assert.Equal([20L, 30, 40], pushed.After(10).Select(r => r.Version));
        Assert.Equal([40L], pushed.After(30).Select(r => r.Version));
        Assert.Empty(pushed.After(40));
        Assert.Empty(pushed.After(15)); // not a version any record follows
    }

    [Fact]
    public void After_StopsAtAGap_AndTheSameCommitPushedTwiceCountsOnce()
    {
        var pushed = new PushedRecords();
        var first = Record(20);
        pushed.Add(10, first);
        pushed.Add(10, Record(20));
        pushed.Add(30, Record(40)); // 20 -> 30 was never pushed

        Assert.Same(first, Assert.Single(pushed.After(10)));
    }

    [Fact]
    public void Tip_SkipsTheProbe_OnlyWhileNothingNewerWasAnnounced()
    {
        var pushed = new PushedRecords();
        Assert.Null(pushed.Tip(10)); // nothing pushed yet: probe
        Assert.Null(pushed.Tip(null));

        pushed.Add(10, Record(20));
        Assert.Equal(20, pushed.Tip(10)); // a record follows: no probe, the store is at least there
        Assert.Equal(20, pushed.Tip(20)); // the newest announced: no probe needed

        pushed.Gap(25); // a whole-state write at 25: no record to take
        Assert.Null(pushed.Tip(20));
        Assert.Equal(25, pushed.Tip(25));

        pushed.Gap(null); // a change of unknown version
        Assert.Null(pushed.Tip(25));
    }

    [Fact]
    public void Clear_ForgetsEverything_SoWaitersProbeAgain()
    {
        var pushed = new PushedRecords();
        pushed.Add(10, Record(20));

        pushed.Clear();

        Assert.Empty(pushed.After(10));
        Assert.Null(pushed.Tip(20));
    }

    [Fact]
    public void OldestRecordsAreDropped_PastAMegabyte()
    {
        var pushed = new PushedRecords();
        for (long v = 1; v <= 100; v++)
            pushed.Add(v - 1, new LogRecord(v, Guid.NewGuid(), new byte[16 * 1024]));

        Assert.Empty(pushed.After(0));
        Assert.Equal(64, pushed.After(36).Length); // 64 x 16 KiB = 1 MiB kept
        Assert.Equal(100, pushed.Tip(36));
    }

    [Fact]
    public void OldestRecordsAreDropped_PastTheBound()
    {
        var pushed = new PushedRecords();
        for (long v = 1; v <= 600; v++)
            pushed.Add(v - 1, Record(v));

        Assert.Empty(pushed.After(0));
        Assert.Equal(600, pushed.After(100).Last().Version);
        Assert.Equal(600, pushed.Tip(600));
    }
}
