using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Tosc.Serialization;

namespace Tosc.Cli.Graph;

/// <summary>Writes the JSON form of a graph (see <see cref="GraphJson"/>).</summary>
internal static partial class GraphJson
{
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
}
