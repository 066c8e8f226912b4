using System.Buffers.Binary;
using Xunit;

namespace Tosc.Testing;

/// <summary>
/// Conflicts checked by the store (<see cref="ToscBackend.ChecksConflicts"/>): an append that others beat is still made,
/// after them and in one atomic step, when none of their records wrote a token it read; a backend without the
/// capability must say so and refuse the call.
/// </summary>
public abstract partial class BackendContractTests
{
    [Fact]
    public void Checked_WhenNotSupported_IsRefusedClearly()
    {
        if (LogClient(NewStore()) is not { ChecksConflicts: false } backend)
            return;
        Assert.Throws<NotSupportedException>(() => backend.TryAppendChecked(Bytes("r"), 1, Guid.NewGuid(), Tokens([1], [2]), CancellationToken.None));
    }

    [Fact]
    public async Task Checked_AnAppendBeaten_IsPutAfterRecordsThatWroteNothingItRead_AndGetsThem()
    {
        var store = NewStore();
        if (CheckingClient(store) is not { } writer)
            return;
        var other = CheckingClient(store)!;
        var start = writer.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        var firstId = Guid.NewGuid();
        var first = other.TryAppendChecked(Bytes("theirs 1"), start, firstId, Tokens([], [10, 11]), CancellationToken.None)!.Value;
        var second = (await other.TryAppendCheckedAsync(Bytes("theirs 2"), first.Version, Guid.NewGuid(), Tokens([], [12]), CancellationToken.None))!.Value;
        Assert.Empty(first.PlacedAfter!);

        var mineId = Guid.NewGuid();
        var mine = writer.TryAppendChecked(Bytes("mine"), start, mineId, Tokens([20, 21], [20]), CancellationToken.None)!.Value;

        Assert.True(mine.Version > second.Version);
        Assert.Equal(["theirs 1", "theirs 2"], mine.PlacedAfter!.Select(r => Text(r.Data)));
        Assert.Equal([first.Version, second.Version], mine.PlacedAfter!.Select(r => r.Version));
        Assert.Equal(firstId, mine.PlacedAfter![0].CommitId);
        Assert.Equal(["theirs 1", "theirs 2", "mine"], other.ReadLog(start).Records.Select(r => Text(r.Data)));
        Assert.Equal(3, mine.Records);
        // Its own write tokens are stored with it: an append that read one of them is refused after it.
        Assert.Null(other.TryAppendChecked(Bytes("late"), second.Version, Guid.NewGuid(), Tokens([20], [30]), CancellationToken.None));
        Assert.NotNull(other.TryAppendChecked(Bytes("later"), second.Version, Guid.NewGuid(), Tokens([21], [30]), CancellationToken.None));
    }

    [Fact]
    public void Checked_AnAppendBeatenByARecordThatWroteWhatItRead_IsRefused_AndChangesNothing()
    {
        var store = NewStore();
        if (CheckingClient(store) is not { } writer)
            return;
        var start = writer.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        var head = writer.TryAppendChecked(Bytes("a"), start, Guid.NewGuid(), Tokens([], [1]), CancellationToken.None)!.Value.Version;
        head = writer.TryAppendChecked(Bytes("b"), head, Guid.NewGuid(), Tokens([], [2, 3]), CancellationToken.None)!.Value.Version;

        Assert.Null(writer.TryAppendChecked(Bytes("x"), start, Guid.NewGuid(), Tokens([9, 3], [4]), CancellationToken.None));
        Assert.Equal(head, writer.ReadVersion());
        Assert.Equal(["a", "b"], writer.ReadLog(start).Records.Select(r => Text(r.Data)));
    }

    [Fact]
    public void Checked_ARecordStoredWithoutTokens_CountsAsWritingEverything()
    {
        var store = NewStore();
        if (CheckingClient(store) is not { } writer)
            return;
        var start = writer.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        writer.TryAppend(Bytes("plain"), start, Guid.NewGuid()); // a lease, a fence, an older release

        Assert.Null(writer.TryAppendChecked(Bytes("x"), start, Guid.NewGuid(), Tokens([], [1]), CancellationToken.None));
    }

    [Fact]
    public void Checked_AVersionTheLogNoLongerHolds_IsRefused()
    {
        var store = NewStore();
        if (CheckingClient(store) is not { } writer)
            return;
        var start = writer.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        var first = writer.TryAppendChecked(Bytes("a"), start, Guid.NewGuid(), Tokens([], [1]), CancellationToken.None)!.Value;
        var second = writer.TryAppendChecked(Bytes("b"), first.Version, Guid.NewGuid(), Tokens([], [2]), CancellationToken.None)!.Value;
        Assert.True(writer.TryCompact(Bytes("s2"), second.Version));

        // What lies between the start and the head is gone: the store cannot tell, so it refuses.
        Assert.Null(writer.TryAppendChecked(Bytes("x"), start, Guid.NewGuid(), Tokens([], [3]), CancellationToken.None));
        // From the snapshot's own version it can.
        Assert.NotNull(writer.TryAppendChecked(Bytes("y"), second.Version, Guid.NewGuid(), Tokens([], [3]), CancellationToken.None));
    }

    [Fact]
    public void Checked_AnAppendRepeatedAfterItLanded_ReturnsTheSameVersion_AndAppendsNothing()
    {
        var store = NewStore();
        if (CheckingClient(store) is not { } writer || !DeduplicatesCommits)
            return;
        var start = writer.TryWrite(Bytes("s"), null, Guid.NewGuid())!.Value;
        var theirs = writer.TryAppendChecked(Bytes("theirs"), start, Guid.NewGuid(), Tokens([], [1]), CancellationToken.None)!.Value;
        var id = Guid.NewGuid();
        var once = writer.TryAppendChecked(Bytes("mine"), start, id, Tokens([2], [3]), CancellationToken.None)!.Value;

        var again = writer.TryAppendChecked(Bytes("mine"), start, id, Tokens([2], [3]), CancellationToken.None)!.Value;

        Assert.Equal(once.Version, again.Version);
        Assert.Equal([theirs.Version], again.PlacedAfter!.Select(r => r.Version));
        Assert.Equal(["theirs", "mine"], writer.ReadLog(start).Records.Select(r => Text(r.Data)));
    }

    /// <summary>Whether the store recognizes a commit id it already stored and repeats the outcome (a repeated call is harmless).</summary>
    protected virtual bool DeduplicatesCommits => false;

    private ToscBackend? CheckingClient(string store) => LogClient(store) is { ChecksConflicts: true } backend ? backend : null;

    private static AppendCheck Tokens(ulong[] reads, ulong[] writes) => new(Pack(reads), Pack(writes));

    private static byte[] Pack(ulong[] tokens)
    {
        var bytes = new byte[tokens.Length * AppendCheck.TokenSize];
        for (var i = 0; i < tokens.Length; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * AppendCheck.TokenSize), tokens[i] * 0x9E3779B97F4A7C15UL);
        return bytes;
    }
}
