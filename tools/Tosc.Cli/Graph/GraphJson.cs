using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Tosc.Serialization;

namespace Tosc.Cli.Graph;

/// <summary>
/// The JSON form of a stored graph (docs/cli.md, "JSON form"): plain JSON for what JSON has (null, booleans, numbers,
/// strings, lists as arrays, dictionaries with string keys as objects), and <c>$</c>-tagged objects for the rest:
/// <c>{"$type": "Name", members...}</c>, <c>{"$set": [...]}</c>, <c>{"$entries": [[key, value]...]}</c>,
/// <c>{"$bytes": "base64"}</c>, <c>{"$counter": 5}</c>, <c>{"$decimal": "1.5"}</c>, shared nodes with
/// <c>"$id"</c> and <c>{"$ref": id}</c>. It reads back to the same stored bytes, so export and import round-trip.
/// </summary>
internal static partial class GraphJson
{
    // A stored level takes up to two JSON levels (a tag object around an array).
    public static readonly int JsonDepth = 2 * GraphDecoder.MaxDepth + 8;
    private static readonly JsonWriterOptions s_indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, MaxDepth = JsonDepth };
    private static readonly JsonWriterOptions s_compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, MaxDepth = JsonDepth };

    private static readonly (sbyte Type, string Name, int Length)[] s_extensions =
    [
        (WireFormat.Decimal, "decimal", 16),
        (WireFormat.DateTime, "datetime", 9),
        (WireFormat.DateTimeOffset, "datetimeoffset", 10),
        (WireFormat.TimeSpan, "timespan", 8),
        (WireFormat.Guid, "guid", 16),
        (WireFormat.TaggedInteger, "integer", 9),
    ];

    private static readonly string[] s_integerKinds = ["", "sbyte", "byte", "int16", "uint16", "", "int64", "uint32", "uint64", "char"];

    public static int ExtLength(sbyte type) => Array.Find(s_extensions, e => e.Type == type) is { Name: not null } e ? e.Length : -1;

    public static string ExtName(sbyte type) => Array.Find(s_extensions, e => e.Type == type).Name ?? $"extension {type}";

    /// <summary>The JSON text of <paramref name="value"/>; <paramref name="allIds"/> gives every node its <c>$id</c> (export).</summary>
    public static string Write(GValue value, bool indented = true, bool allIds = false) => DeepValues.Run(GraphDecoder.MaxDepth, () =>
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, indented ? s_indented : s_compact))
            new JsonOut(writer, value, allIds).Write(value);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    });

    /// <summary>A canonical text of a value without ids, so equal keys and elements compare equal.</summary>
    public static string KeyText(GValue value) => Write(value, indented: false);

    /// <summary>Reads the JSON form back into values; nodes without <c>$id</c> get new random ids.</summary>
    public static GValue Read(string json) => DeepValues.Run(GraphDecoder.MaxDepth, () =>
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = JsonDepth });
        return new JsonIn().Read(document.RootElement);
    });

    public static string IdText(long id) => id.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>The values directly inside <paramref name="value"/>.</summary>
    public static IEnumerable<GValue> Children(GValue value)
    {
        if (!value.IsContainer)
            return [];
        return value.Kind switch
        {
            GKind.Dict => value.Entries.SelectMany(e => new[] { e.Key, e.Value }),
            GKind.Object or GKind.ValueObject => value.Members.Select(m => m.Value),
            _ => value.Items,
        };
    }

    public static long NewId()
    {
        long id;
        do
            id = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
        while (id == 0);
        return id;
    }
}
