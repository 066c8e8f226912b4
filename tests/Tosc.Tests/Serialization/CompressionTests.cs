using Tosc.Tests.Core;
using Xunit;

namespace Tosc.Tests.Serialization;

/// <summary>ManagerOptions.Compression: LZ4 states are marked in the header, so any manager reads them.</summary>
public class CompressionTests
{
    private static List<string> LargeValue() => [.. Enumerable.Range(0, 2_000).Select(i => $"line {i % 10} of a repetitive text")];

    private static ManagerOptions Lz4() => new() { WatchForChanges = false, Compression = ToscCompression.Lz4 };

    [Fact]
    public void Lz4_RoundTripsALargeStateAndStoresItSmaller()
    {
        using var store = new Store();
        var writer = store.Open(Lz4());
        writer.Write(LargeValue());

        var stored = store.Backend.Read()!.Data.ToArray();
        var reader = store.Open(Lz4());

        Assert.Equal("TOSC"u8.ToArray(), stored[..4]);
        Assert.Equal((byte)2, stored[4]);
        Assert.Equal((byte)1, stored[5]);
        Assert.Equal(LargeValue(), reader.Read<IList<string>>());
        Assert.True(stored.Length < 10_000, $"{stored.Length} bytes stored.");
    }

    [Fact]
    public void ReaderWithoutTheOption_ReadsACompressedState()
    {
        using var store = new Store();
        store.Open(Lz4()).Write(LargeValue());

        var reader = store.OpenQuiet();

        Assert.Equal(LargeValue(), reader.Read<IList<string>>());
        Assert.Equal(LargeValue(), reader.Snapshot<List<string>>());
    }

    [Fact]
    public void SmallStates_StayPlainFormatVersion1()
    {
        using var store = new Store();
        store.Open(Lz4()).Write(new List<int> { 1, 2, 3 });

        var stored = store.Backend.Read()!.Data.ToArray();

        Assert.Equal(new byte[] { 1, 0 }, stored[4..6]);
    }

    [Fact]
    public void Transactions_OnACompressingManager_CommitCompressedStates()
    {
        using var store = new Store();
        var manager = store.Open(Lz4());
        manager.Write(LargeValue());

        manager.Run(() => manager.Read<IList<string>>().Add("one more"));

        Assert.Equal(2, store.Backend.Read()!.Data.Span[4]);
        Assert.Equal("one more", store.OpenQuiet().Read<IList<string>>()[^1]);
    }

    [Theory]
    [InlineData("flip a byte of the block")]
    [InlineData("cut the block short")]
    [InlineData("declare a huge length")]
    [InlineData("declare one byte more")]
    [InlineData("drop the length")]
    public void CorruptedCompressedState_ThrowsToscDataException(string corruption)
    {
        using var store = new Store();
        store.Open(Lz4()).Write(LargeValue());
        var bytes = store.Backend.Read()!.Data.ToArray();
        var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(6));
        bytes = corruption switch
        {
            "flip a byte of the block" => Flip(bytes, 10),
            "cut the block short" => bytes[..^20],
            "declare a huge length" => SetLength(bytes, uint.MaxValue),
            "declare one byte more" => SetLength(bytes, length + 1),
            _ => bytes[..8],
        };
        store.Backend.Write(bytes, Guid.NewGuid());

        Assert.Throws<ToscDataException>(() => store.OpenQuiet().Read<IList<string>>());
    }

    [Fact]
    public void UnknownHeaderFlag_FailsNamingTheFlags()
    {
        using var store = new Store();
        store.OpenQuiet().Write(new List<int> { 1 });
        var bytes = store.Backend.Read()!.Data.ToArray();
        bytes[5] = 0x82;
        store.Backend.Write(bytes, Guid.NewGuid());

        var e = Assert.Throws<ToscDataException>(() => store.OpenQuiet().Read<IList<int>>());

        Assert.Contains("flags 0x82", e.Message, StringComparison.Ordinal);
        Assert.Contains("upgrade Tosc", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UndefinedCompression_IsRejectedNamingTheOption()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Manager(new InprocBackend(), new ManagerOptions { Compression = (ToscCompression)7 }));

        Assert.Contains("ManagerOptions.Compression", e.Message, StringComparison.Ordinal);
    }

    private static byte[] Flip(byte[] bytes, int index)
    {
        var copy = (byte[])bytes.Clone();
        copy[index] ^= 0xff;
        copy[index + 1] ^= 0x5a;
        return copy;
    }

    private static byte[] SetLength(byte[] bytes, uint length)
    {
        var copy = (byte[])bytes.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(6), length);
        return copy;
    }
}
