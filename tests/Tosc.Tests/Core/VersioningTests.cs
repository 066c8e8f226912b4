using Xunit;

namespace Tosc.Tests.Core;

/// <summary>Two versions of one stored class, as two processes of different releases would run them.</summary>
public static class DocVersions
{
    [ToscType("tests.versioned-doc")]
    public class V1
    {
        public virtual int X { get; set; }
        public virtual string Removed { get; set; } = "";
    }

    [ToscType("tests.versioned-doc")]
    public class V2
    {
        public virtual int X { get; set; }
        public virtual int Y { get; set; }
        public virtual IList<string> Notes { get; set; } = new List<string>();
    }
}

public class VersioningTests
{
    [Fact]
    public void OlderVersion_CommittingAChange_KeepsTheMembersOfTheNewerVersion()
    {
        using var store = new Store();
        var newer = store.OpenQuiet();
        newer.Write(new DocVersions.V2 { X = 1, Y = 5, Notes = ["kept"] });

        var older = store.OpenQuiet();
        var doc = older.Read<DocVersions.V1>();
        older.Run(() => doc.X = 2);

        var read = store.OpenQuiet().Read<DocVersions.V2>();
        Assert.Equal((2, 5), (read.X, read.Y));
        Assert.Equal(["kept"], read.Notes);
        Assert.Equal(5, newer.Refresh<DocVersions.V2>().Y);
    }

    [Fact]
    public void NewerVersion_ReadingAnOlderStore_IgnoresRemovedMembersAndTheOlderKeepsThem()
    {
        using var store = new Store();
        var older = store.OpenQuiet();
        older.Write(new DocVersions.V1 { X = 1, Removed = "old" });

        var newer = store.OpenQuiet();
        var doc = newer.Read<DocVersions.V2>();
        Assert.Equal((1, 0), (doc.X, doc.Y));
        newer.Run(() => doc.Y = 7);

        var olderDoc = older.Refresh<DocVersions.V1>();
        Assert.Equal("old", olderDoc.Removed);
        older.Run(() => olderDoc.X = 3);

        var final = newer.Refresh<DocVersions.V2>();
        Assert.Equal((3, 7), (final.X, final.Y));
    }
}
