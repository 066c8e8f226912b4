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
internal static class GraphJson
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

    private sealed class JsonOut(Utf8JsonWriter writer, GValue root, bool allIds)
    {
        private readonly HashSet<GValue> _shared = allIds ? [] : FindShared(root);
        private readonly HashSet<GValue> _written = new(ReferenceEqualityComparer.Instance);
        private int _depth;

        private static HashSet<GValue> FindShared(GValue root)
        {
            var seen = new HashSet<GValue>(ReferenceEqualityComparer.Instance);
            var shared = new HashSet<GValue>(ReferenceEqualityComparer.Instance);
            var pending = new Stack<GValue>([root]);
            while (pending.TryPop(out var value))
            {
                if (value.IsNode && !seen.Add(value))
                {
                    shared.Add(value);
                    continue;
                }
                foreach (var child in Children(value))
                    pending.Push(child);
            }
            return shared;
        }

        private bool ShowsId(GValue node) => node.IsNode && (allIds || _shared.Contains(node));

        public void Write(GValue value)
        {
            if (++_depth > DeepValues.Limit)
                throw DeepValues.TooDeep(stored: false);
            WriteValue(value);
            _depth--;
        }

        private void WriteValue(GValue value)
        {
            if (value.IsNode && !_written.Add(value))
            {
                writer.WriteStartObject();
                writer.WriteString("$ref", IdText(value.Id));
                writer.WriteEndObject();
                return;
            }
            switch (value.Kind)
            {
                case GKind.Null:
                    writer.WriteNullValue();
                    return;
                case GKind.Bool:
                    writer.WriteBooleanValue((bool)value.Scalar!);
                    return;
                case GKind.Int:
                    writer.WriteNumberValue((long)value.Scalar!);
                    return;
                case GKind.UInt:
                    writer.WriteNumberValue((ulong)value.Scalar!);
                    return;
                case GKind.Float32:
                    // Tagged, so a float stays a float 32 through export and import.
                    Tagged("$float32", () => WriteFloat((float)value.Scalar!, single: true));
                    return;
                case GKind.Float64:
                    WriteFloat((double)value.Scalar!);
                    return;
                case GKind.String:
                    writer.WriteStringValue((string)value.Scalar!);
                    return;
                case GKind.Bin:
                    Tagged("$bin", () => writer.WriteBase64StringValue((byte[])value.Scalar!));
                    return;
                case GKind.Ext:
                    WriteExtension(value.ExtType, (byte[])value.Scalar!);
                    return;
                case GKind.Enum:
                    writer.WriteStartObject();
                    writer.WriteString("$enum", value.TypeName);
                    writer.WriteNumber("value", (long)value.Scalar!);
                    writer.WriteEndObject();
                    return;
                case GKind.List when !ShowsId(value):
                    WriteItems(value);
                    return;
                case GKind.List or GKind.Set or GKind.Array:
                    Node(value, value.Kind switch { GKind.List => "$list", GKind.Set => "$set", _ => "$array" }, () => WriteItems(value));
                    return;
                case GKind.Bytes:
                    Node(value, "$bytes", () => writer.WriteBase64StringValue((byte[])value.Scalar!));
                    return;
                case GKind.Counter:
                    Node(value, "$counter", () => writer.WriteNumberValue((long)value.Scalar!));
                    return;
                case GKind.Dict:
                    WriteDict(value);
                    return;
                default:
                    writer.WriteStartObject();
                    writer.WriteString(value.Kind == GKind.Object ? "$type" : "$value", value.TypeName);
                    if (ShowsId(value))
                        writer.WriteString("$id", IdText(value.Id));
                    foreach (var (name, member) in value.Members)
                    {
                        writer.WritePropertyName(name);
                        Write(member);
                    }
                    writer.WriteEndObject();
                    return;
            }
        }

        private void WriteItems(GValue value)
        {
            writer.WriteStartArray();
            foreach (var item in value.Items)
                Write(item);
            writer.WriteEndArray();
        }

        private void WriteDict(GValue value)
        {
            writer.WriteStartObject();
            if (ShowsId(value))
                writer.WriteString("$id", IdText(value.Id));
            if (value.Entries.TrueForAll(e => e.Key.Kind == GKind.String && !((string)e.Key.Scalar!).StartsWith('$')))
            {
                foreach (var (key, item) in value.Entries)
                {
                    writer.WritePropertyName((string)key.Scalar!);
                    Write(item);
                }
            }
            else
            {
                writer.WriteStartArray("$entries");
                foreach (var (key, item) in value.Entries)
                {
                    writer.WriteStartArray();
                    Write(key);
                    Write(item);
                    writer.WriteEndArray();
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }

        private void Node(GValue node, string tag, Action content)
        {
            writer.WriteStartObject();
            if (ShowsId(node))
                writer.WriteString("$id", IdText(node.Id));
            writer.WritePropertyName(tag);
            content();
            writer.WriteEndObject();
        }

        private void Tagged(string tag, Action content)
        {
            writer.WriteStartObject();
            writer.WritePropertyName(tag);
            content();
            writer.WriteEndObject();
        }

        private void WriteFloat(double value, bool single = false)
        {
            if (!double.IsFinite(value))
            {
                Tagged("$double", () => writer.WriteStringValue(value.ToString("R", CultureInfo.InvariantCulture)));
                return;
            }
            var text = single ? ((float)value).ToString("R", CultureInfo.InvariantCulture) : value.ToString("R", CultureInfo.InvariantCulture);
            writer.WriteRawValue(text.AsSpan().IndexOfAny(".eE") < 0 ? text + ".0" : text);
        }

        private void WriteExtension(sbyte type, byte[] data)
        {
            var invariant = CultureInfo.InvariantCulture;
            writer.WriteStartObject();
            switch (type)
            {
                case WireFormat.Decimal:
                    var bits = new int[4];
                    for (var i = 0; i < 4; i++)
                        bits[i] = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(i * 4));
                    writer.WriteString("$decimal", Decimal(bits).ToString(invariant));
                    break;
                case WireFormat.DateTime:
                    var ticks = BinaryPrimitives.ReadInt64BigEndian(data.AsSpan(1));
                    var utc = data[0] is 1 or 3;
                    writer.WriteString("$datetime", new DateTime(CheckTicks(ticks), utc ? DateTimeKind.Utc : DateTimeKind.Unspecified).ToString("o", invariant));
                    if (data[0] is 2 or 3)
                        writer.WriteString("$kind", data[0] == 2 ? "local-clock" : "local");
                    break;
                case WireFormat.DateTimeOffset:
                    var clock = CheckTicks(BinaryPrimitives.ReadInt64BigEndian(data));
                    var minutes = BinaryPrimitives.ReadInt16BigEndian(data.AsSpan(8));
                    writer.WriteString("$datetimeoffset", new DateTimeOffset(clock, TimeSpan.FromMinutes(minutes)).ToString("o", invariant));
                    break;
                case WireFormat.TimeSpan:
                    writer.WriteString("$timespan", TimeSpan.FromTicks(BinaryPrimitives.ReadInt64BigEndian(data)).ToString("c", invariant));
                    break;
                case WireFormat.Guid:
                    writer.WriteString("$guid", new Guid(data, bigEndian: true).ToString("D"));
                    break;
                default:
                    var value = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(1));
                    var kind = data[0] < s_integerKinds.Length ? s_integerKinds[data[0]] : "";
                    if (kind.Length == 0)
                        throw new ToscDataException($"Unknown integer kind {data[0]}.");
                    writer.WritePropertyName("$" + kind);
                    if (kind == "char")
                        writer.WriteStringValue(((char)value).ToString());
                    else if (kind is "uint64" or "uint32" or "uint16" or "byte")
                        writer.WriteNumberValue(value);
                    else
                        writer.WriteNumberValue((long)value);
                    break;
            }
            writer.WriteEndObject();
        }

        private static decimal Decimal(int[] bits)
        {
            try
            {
                return new decimal(bits);
            }
            catch (ArgumentException e)
            {
                throw new ToscDataException("A stored decimal is not valid.", e);
            }
        }

        private static long CheckTicks(long ticks) =>
            ticks is >= 0 and <= 3155378975999999999 ? ticks : throw new ToscDataException("The stored DateTime is out of range.");
    }

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

    private sealed class JsonIn
    {
        private readonly Dictionary<long, GValue> _nodes = [];
        private int _depth;

        public GValue Read(JsonElement json)
        {
            if (++_depth > DeepValues.Limit)
                throw DeepValues.TooDeep(stored: false);
            var value = ReadValue(json);
            _depth--;
            return value;
        }

        private GValue ReadValue(JsonElement json)
        {
            switch (json.ValueKind)
            {
                case JsonValueKind.Null:
                    return GValue.Null;
                case JsonValueKind.True or JsonValueKind.False:
                    return GValue.Of(GKind.Bool, json.GetBoolean());
                case JsonValueKind.String:
                    return GValue.Of(GKind.String, json.GetString());
                case JsonValueKind.Number:
                    return Number(json);
                case JsonValueKind.Array:
                    return Items(GKind.List, 0, json);
                case JsonValueKind.Object:
                    return Object(json);
                default:
                    throw Bad(json, "a value");
            }
        }

        private static GValue Number(JsonElement json)
        {
            var text = json.GetRawText();
            if (text.AsSpan().IndexOfAny(".eE") < 0)
            {
                if (json.TryGetInt64(out var l))
                    return GValue.Of(GKind.Int, l);
                if (json.TryGetUInt64(out var u))
                    return GValue.Of(GKind.UInt, u);
            }
            return GValue.Of(GKind.Float64, json.GetDouble());
        }

        private GValue Items(GKind kind, long id, JsonElement array)
        {
            if (array.ValueKind != JsonValueKind.Array)
                throw Bad(array, "an array");
            var node = Define(GValue.Node(kind, kind == GKind.Array ? 0 : id == 0 ? NewId() : id));
            foreach (var item in array.EnumerateArray())
                node.Items.Add(Read(item));
            return node;
        }

        private GValue Object(JsonElement json)
        {
            long id = 0;
            if (json.TryGetProperty("$id", out var idText))
                id = ParseId(idText);
            if (json.TryGetProperty("$ref", out var target))
            {
                var refId = ParseId(target);
                return _nodes.TryGetValue(refId, out var node)
                    ? node
                    : throw new FormatException($"\"$ref\": \"{IdText(refId)}\" names no node with that \"$id\" before it.");
            }
            foreach (var property in json.EnumerateObject())
            {
                var name = property.Name;
                var value = property.Value;
                switch (name)
                {
                    case "$type" or "$value":
                        return Members(json, name == "$type" ? GKind.Object : GKind.ValueObject, value.GetString() ?? throw Bad(value, "a type name"), id);
                    case "$list":
                        return Items(GKind.List, id, value);
                    case "$set":
                        return Items(GKind.Set, id, value);
                    case "$array":
                        return Items(GKind.Array, 0, value);
                    case "$entries":
                        return Entries(value, id);
                    case "$bytes":
                        return Define(Scalar(GValue.Node(GKind.Bytes, id == 0 ? NewId() : id), value.GetBytesFromBase64()));
                    case "$counter":
                        return Define(Scalar(GValue.Node(GKind.Counter, id == 0 ? NewId() : id), value.GetInt64()));
                    case "$bin":
                        return GValue.Of(GKind.Bin, value.GetBytesFromBase64());
                    case "$double":
                        return GValue.Of(GKind.Float64, double.Parse(value.GetString()!, CultureInfo.InvariantCulture));
                    case "$float32":
                        return GValue.Of(GKind.Float32, value.ValueKind == JsonValueKind.Object
                            ? float.Parse(value.GetProperty("$double").GetString()!, CultureInfo.InvariantCulture)
                            : value.GetSingle());
                    case "$enum":
                        return GValue.EnumValue(value.GetString() ?? throw Bad(value, "a type name"),
                            json.TryGetProperty("value", out var v) ? v.GetInt64() : throw Bad(json, "an enum's \"value\""));
                    case "$id":
                        continue;
                    default:
                        if (name.StartsWith('$'))
                            return Extension(json, name, value);
                        break;
                }
            }
            var dict = Define(GValue.Node(GKind.Dict, id == 0 ? NewId() : id));
            foreach (var property in json.EnumerateObject())
            {
                if (property.Name != "$id")
                    dict.Entries.Add(new(GValue.Of(GKind.String, property.Name), Read(property.Value)));
            }
            return dict;
        }

        private GValue Members(JsonElement json, GKind kind, string type, long id)
        {
            var node = Define(GValue.Node(kind, kind == GKind.Object ? (id == 0 ? NewId() : id) : 0, type));
            foreach (var property in json.EnumerateObject())
            {
                if (!property.Name.StartsWith('$'))
                    node.Members.Add(new(property.Name, Read(property.Value)));
            }
            return node;
        }

        private GValue Entries(JsonElement array, long id)
        {
            if (array.ValueKind != JsonValueKind.Array)
                throw Bad(array, "an array of [key, value] pairs");
            var node = Define(GValue.Node(GKind.Dict, id == 0 ? NewId() : id));
            foreach (var pair in array.EnumerateArray())
            {
                if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
                    throw Bad(pair, "a [key, value] pair");
                var key = Read(pair[0]);
                node.Entries.Add(new(key, Read(pair[1])));
            }
            return node;
        }

        private static GValue Extension(JsonElement json, string name, JsonElement value)
        {
            var invariant = CultureInfo.InvariantCulture;
            var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
            byte[] data;
            switch (name)
            {
                case "$decimal":
                    data = new byte[16];
                    var bits = decimal.GetBits(decimal.Parse(text, NumberStyles.Float, invariant));
                    for (var i = 0; i < 4; i++)
                        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(i * 4), bits[i]);
                    return GValue.Extension(WireFormat.Decimal, data);
                case "$datetime":
                    var time = DateTime.Parse(text, invariant, DateTimeStyles.RoundtripKind);
                    byte kind = json.TryGetProperty("$kind", out var k) ? k.GetString() switch
                    {
                        "local" => (byte)3,
                        "local-clock" => (byte)2,
                        var other => throw new FormatException($"\"$kind\": \"{other}\" is not a DateTime kind (local, local-clock)."),
                    } : time.Kind == DateTimeKind.Utc ? (byte)1 : (byte)0;
                    data = new byte[9];
                    data[0] = kind;
                    BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(1), time.Ticks);
                    return GValue.Extension(WireFormat.DateTime, data);
                case "$datetimeoffset":
                    var offsetTime = DateTimeOffset.Parse(text, invariant, DateTimeStyles.RoundtripKind);
                    data = new byte[10];
                    BinaryPrimitives.WriteInt64BigEndian(data, offsetTime.Ticks);
                    BinaryPrimitives.WriteInt16BigEndian(data.AsSpan(8), (short)offsetTime.Offset.TotalMinutes);
                    return GValue.Extension(WireFormat.DateTimeOffset, data);
                case "$timespan":
                    data = new byte[8];
                    BinaryPrimitives.WriteInt64BigEndian(data, TimeSpan.Parse(text, invariant).Ticks);
                    return GValue.Extension(WireFormat.TimeSpan, data);
                case "$guid":
                    data = new byte[16];
                    Guid.Parse(text).TryWriteBytes(data, bigEndian: true, out _);
                    return GValue.Extension(WireFormat.Guid, data);
            }
            var kindIndex = Array.IndexOf(s_integerKinds, name[1..]);
            if (kindIndex <= 0)
                throw new FormatException($"\"{name}\" is not a tag of the tool's JSON form (see docs/cli.md).");
            data = new byte[9];
            data[0] = (byte)kindIndex;
            var bitsValue = name == "$char" ? text.Length == 1 ? text[0] : throw Bad(value, "one character")
                : text.StartsWith('-') ? (ulong)long.Parse(text, invariant) : ulong.Parse(text, invariant);
            BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(1), bitsValue);
            return GValue.Extension(WireFormat.TaggedInteger, data);
        }

        private static GValue Scalar(GValue node, object scalar)
        {
            node.Scalar = scalar;
            return node;
        }

        private GValue Define(GValue node)
        {
            if (node.Id != 0 && !_nodes.TryAdd(node.Id, node))
                throw new FormatException($"\"$id\": \"{IdText(node.Id)}\" is given to two nodes.");
            return node;
        }

        private static long ParseId(JsonElement json) =>
            json.ValueKind == JsonValueKind.String && long.TryParse(json.GetString(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id) && id != 0
                ? id
                : throw Bad(json, "a node id (16 hex digits, not 0)");

        private static FormatException Bad(JsonElement json, string expected) =>
            new($"Expected {expected} in the JSON, found {json.ValueKind}: {Shorten(json.GetRawText())}");

        private static string Shorten(string text) => text.Length > 60 ? text[..60] + "..." : text;
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
