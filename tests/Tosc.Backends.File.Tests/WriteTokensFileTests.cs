using Xunit;

namespace Tosc.Tests.Files;

/// <summary>
/// The write tokens beside a store file, as one instance reads them while others append and compact: each read takes
/// only the entries added since the last, and a file a compaction rewrote (or deleted) is read afresh.
/// </summary>
public sealed class WriteTokensFileTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static byte[] Tokens(byte value) => [value, 0, 0, 0, 0, 0, 0, value];

    [Fact]
    public void Read_SeesEveryEntry_AppendedBeforeAndAfterItsLastRead_ByAnyInstance()
    {
        var path = _directory.File("s.tosc.tokens");
        var reader = new WriteTokensFile(path);
        var writer = new WriteTokensFile(path);
        Assert.Empty(reader.Read());
        var (a, b, c) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());

        writer.Append(1, a, Tokens(1));
        writer.Append(2, b, Tokens(2));
        Assert.Equal([1L, 2], reader.Read().Keys.Select(k => k.Version).Order());
        writer.Append(3, c, Tokens(3));

        var entries = reader.Read();
        Assert.Equal([1L, 2, 3], entries.Keys.Select(k => k.Version).Order());
        Assert.Equal(Tokens(3), entries[(3, c)]);
    }

    [Fact]
    public void Read_AfterAnotherInstanceCompacted_OrDeletedTheFile_ForgetsTheEntriesItDropped()
    {
        var path = _directory.File("s.tosc.tokens");
        var reader = new WriteTokensFile(path);
        var compactor = new WriteTokensFile(path);
        var ids = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid()).ToArray();
        for (var v = 1; v <= 3; v++)
            compactor.Append(v, ids[v], Tokens((byte)v));
        Assert.Equal(3, reader.Read().Count);

        compactor.KeepAfter(1, _directory.File("temp-1"));
        compactor.Append(4, Guid.NewGuid(), Tokens(4)); // the rewritten file grows past what the reader read
        Assert.Equal([2L, 3, 4], reader.Read().Keys.Select(k => k.Version).Order());

        compactor.KeepAfter(9, _directory.File("temp-2")); // nothing kept: the file is deleted
        Assert.Empty(reader.Read());
        compactor.Append(10, ids[0], Tokens(10));
        Assert.Equal([10L], reader.Read().Keys.Select(k => k.Version));
    }

    [Fact]
    public void Read_StopsAtATornEntry_AndReadsNothingAfterIt()
    {
        var path = _directory.File("s.tosc.tokens");
        var writer = new WriteTokensFile(path);
        writer.Append(1, Guid.NewGuid(), Tokens(1));
        var reader = new WriteTokensFile(path);
        Assert.Single(reader.Read());
        File.AppendAllBytes(path, [1, 2, 3]); // a writer that died mid-entry
        writer.Append(2, Guid.NewGuid(), Tokens(2));

        Assert.Equal([1L], reader.Read().Keys.Select(k => k.Version));
        Assert.Equal([1L], new WriteTokensFile(path).Read().Keys.Select(k => k.Version));
    }
}
