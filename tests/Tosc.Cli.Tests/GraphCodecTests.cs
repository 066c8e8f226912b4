using Tosc.Cli.Graph;
using Xunit;

namespace Tosc.Tests.Tool;

/// <summary>The tool's typeless codec against the core's golden stores and hostile input.</summary>
public sealed class GraphCodecTests
{
    public static TheoryData<string> GoldenStores() =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Golden"), "*.tosc")
            .Where(f => !Path.GetFileName(f).StartsWith("protected", StringComparison.Ordinal))
            .Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(GoldenStores))]
    public void EveryGoldenStore_DecodesAndEncodesToTheSameBytes_ThroughTheTreeAndThroughJson(string file)
    {
        var stored = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Golden", file));
        var body = GraphDecoder.OpenValue(stored).ToArray();
        var tree = GraphDecoder.DecodeValue(body);
        Assert.Equal(body, GraphEncoder.EncodeValue(tree)[6..]);
        var json = GraphJson.Write(tree, allIds: true);
        Assert.Equal(body, GraphEncoder.EncodeValue(GraphJson.Read(json))[6..]);
    }

    [Theory]
    [InlineData(new byte[] { 0x91, 0x01 }, "without a Tosc marker")]
    [InlineData(new byte[] { 0xd7, 0x06, 0, 0, 0, 0, 0, 0, 0, 9 }, "not defined before")]
    [InlineData(new byte[] { 0xdd, 0xff, 0xff, 0xff, 0xff }, "declares")]
    [InlineData(new byte[] { 0xd4, 0x63, 0x00 }, "Unknown extension type 99")]
    [InlineData(new byte[] { 0xa2, 0xc3, 0x28 }, "not valid UTF-8")]
    public void HostileBytes_AreAToscDataExceptionNamingTheProblem(byte[] body, string expected)
    {
        var error = Assert.Throws<ToscDataException>(() => GraphDecoder.DecodeValue(body));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private static byte[] NestedLists(int depth)
    {
        var body = new List<byte>();
        for (var i = 1; i <= depth; i++)
            body.AddRange([0x92, 0xd7, 0x01, 0, 0, 0, 0, (byte)(i >> 24), (byte)(i >> 16), (byte)(i >> 8), (byte)i]);
        body.Add(0xc0);
        return [.. body];
    }

    [Fact]
    public void DeepValues_WithinTheCoresCap_DecodeEncodeAndPrint_AsTheCoreReadsThem()
    {
        var body = NestedLists(20_000);
        var tree = GraphDecoder.DecodeValue(body);
        Assert.Equal(body, GraphEncoder.EncodeValue(tree)[6..]);
        Assert.Equal(body, GraphEncoder.EncodeValue(GraphJson.Read(GraphJson.Write(tree, indented: false, allIds: true)))[6..]);
    }

    [Fact]
    public void NestingPastTheCap_IsRefusedWithoutAStackOverflow()
    {
        var error = Assert.Throws<ToscDataException>(() => GraphDecoder.DecodeValue(NestedLists(GraphDecoder.MaxDepth + 1)));
        Assert.Contains("nests deeper", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Stock[\"apples\"]", 2)]
    [InlineData("Items[2].Limit", 3)]
    [InlineData("[\"key\"]", 1)]
    [InlineData("[3]", 1)]
    public void Paths_ParseAndRenderInTheCoresNotation(string path, int steps)
    {
        var parsed = GraphPaths.Parse(path);
        Assert.Equal(steps, parsed.Count);
        Assert.Equal(path, GraphPaths.Render(parsed));
    }

    [Theory]
    [InlineData("Stock[\"apples\"")]
    [InlineData("Items[2].")]
    [InlineData("Items[nope]")]
    public void BadPaths_SayWhatIsExpected(string path) =>
        Assert.ThrowsAny<FormatException>(() => GraphPaths.Parse(path));
}
