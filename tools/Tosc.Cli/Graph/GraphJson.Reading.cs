using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Tosc.Serialization;

namespace Tosc.Cli.Graph;

/// <summary>Reads the JSON form back into values (see <see cref="GraphJson"/>).</summary>
internal static partial class GraphJson
{
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
}
