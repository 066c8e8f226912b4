using Tosc.Live;

namespace Tosc.Serialization;

/// <summary>
/// Members declared as <see cref="object"/>: the value carries its own type. int, long beyond the int range,
/// double, float, string, bool and byte[] use MessagePack's natural forms; other integers are tagged so they
/// come back with their type; collections come back as DList&lt;object?&gt;, DDict&lt;object, object?&gt; and
/// DSet&lt;object?&gt; (List, Dictionary and HashSet in snapshots); user objects by their registered type name.
/// </summary>
internal sealed class DynamicCodec : ValueCodec<object?>
{
    public override bool MayHoldNodes => true;

    public override bool Freezes => true;

    public override void Write(ref GraphWriter writer, object? value)
    {
        ref var msg = ref writer.Msg;
        switch (value)
        {
            case null:
                msg.WriteNil();
                return;
            case int i:
                msg.Write(i);
                return;
            case string s:
                msg.WriteText(s);
                return;
            case bool b:
                msg.Write(b);
                return;
            case double d:
                msg.Write(d);
                return;
            case float f:
                msg.Write(f);
                return;
            case long l when l is < int.MinValue or > int.MaxValue:
                msg.Write(l);
                return;
            case long l:
                Integers.WriteTagged(ref msg, WireFormat.IntegerKind.Int64, (ulong)l);
                return;
            case byte[] bytes:
                msg.WriteBinary(bytes);
                return;
            case Enum e:
                writer.Learn(e.GetType());
                msg.WriteArrayHeader(3);
                msg.WriteExtension(WireFormat.EnumValue, [0]);
                writer.WriteTypeName(TypeNames.Stable(e.GetType()));
                msg.Write(Convert.ToInt64(e, System.Globalization.CultureInfo.InvariantCulture));
                return;
            case sbyte v:
                Integers.WriteTagged(ref msg, WireFormat.IntegerKind.SByte, (ulong)v);
                return;
            case byte v:
                Integers.WriteTagged(ref msg, WireFormat.IntegerKind.Byte, v);
                return;
            case short v:
                Integers.WriteTagged(ref msg, WireFormat.IntegerKind.Int16, (ulong)v);
                return;
            case ushort v:
                Integers.WriteTagged(ref msg, WireFormat.IntegerKind.UInt16, v);
                return;
            case uint v:
                Integers.WriteTagged(ref msg, WireFormat.IntegerKind.UInt32, v);
                return;
            case ulong v:
                Integers.WriteTagged(ref msg, WireFormat.IntegerKind.UInt64, v);
                return;
            case char v:
                Integers.WriteTagged(ref msg, WireFormat.IntegerKind.Char, v);
                return;
            default:
                Codecs.ForValue(value).WriteBoxed(ref writer, value);
                return;
        }
    }

    public override object? Read(ref GraphReader reader)
    {
        ref var msg = ref reader.Msg;
        var offset = msg.Position;
        switch (msg.PeekType())
        {
            case MessagePackType.Nil:
                msg.ReadNil();
                return null;
            case MessagePackType.Boolean:
                return msg.ReadBoolean();
            case MessagePackType.Integer:
                return ReadNaturalInteger(ref msg);
            case MessagePackType.Float:
                return msg.PeekCode() == 0xca ? (object)msg.ReadSingle() : msg.ReadDouble();
            case MessagePackType.String:
                return msg.ReadString();
            case MessagePackType.Binary:
                return msg.ReadBinary().ToArray();
            case MessagePackType.Extension:
                return ReadExtension(ref reader, offset);
            case MessagePackType.Array:
                return ReadArray(ref reader, offset);
            default:
                throw new ToscDataException($"A {msg.PeekType()} cannot stand where a value is expected (offset {offset}).");
        }
    }

    public override object? ToLive(object? value, Manager owner)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value is Enum || value is byte[])
            return value;
        return Codecs.ForValue(value).ToLiveBoxed(value, owner);
    }

    public override object? Freeze(object? value)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value is Enum)
            return value;
        return Codecs.ForValue(value).FreezeBoxed(value);
    }

    private static object ReadNaturalInteger(ref WireReader msg)
    {
        if (msg.PeekCode() == 0xcf)
        {
            var unsigned = msg.ReadUInt64();
            return unsigned <= long.MaxValue ? (object)(long)unsigned : unsigned;
        }
        var value = msg.ReadInt64();
        return value is >= int.MinValue and <= int.MaxValue ? (object)(int)value : value;
    }

    private static object? ReadExtension(ref GraphReader reader, int offset)
    {
        var probe = reader.Msg;
        var (type, _) = probe.ReadExtensionHeader();
        switch (type)
        {
            case WireFormat.Decimal:
                return DecimalCodec.Read(ref reader.Msg);
            case WireFormat.DateTime:
                return DateTimeCodec.Read(ref reader.Msg);
            case WireFormat.DateTimeOffset:
                return DateTimeOffsetCodec.Read(ref reader.Msg);
            case WireFormat.TimeSpan:
                return TimeSpanCodec.Read(ref reader.Msg);
            case WireFormat.Guid:
                return GuidCodec.Read(ref reader.Msg);
            case WireFormat.Reference:
                NodeReading.TryReadNullOrReference<object>(ref reader, out var target);
                return target;
            case WireFormat.TaggedInteger:
                var bits = Integers.ReadTagged(ref reader.Msg, out var kind);
                return kind switch
                {
                    WireFormat.IntegerKind.SByte => (sbyte)(long)bits,
                    WireFormat.IntegerKind.Byte => (byte)bits,
                    WireFormat.IntegerKind.Int16 => (short)(long)bits,
                    WireFormat.IntegerKind.UInt16 => (ushort)bits,
                    WireFormat.IntegerKind.Int64 => (long)bits,
                    WireFormat.IntegerKind.UInt32 => (uint)bits,
                    WireFormat.IntegerKind.UInt64 => bits,
                    WireFormat.IntegerKind.Char => (char)bits,
                    _ => throw new ToscDataException($"Unknown integer kind {(byte)kind} (offset {offset})."),
                };
            default:
                throw new ToscDataException($"Unknown extension type {type} (offset {offset}).");
        }
    }

    private static object? ReadArray(ref GraphReader reader, int offset)
    {
        var probe = reader.Msg;
        var count = probe.ReadArrayHeader();
        if (count == 0 || probe.PeekType() != MessagePackType.Extension)
            throw new ToscDataException($"An array without a Tosc marker cannot be decoded (offset {offset}).");
        var (kind, _) = probe.ReadExtensionHeader();
        switch (kind)
        {
            case WireFormat.ListNode:
                return Codecs.Get<IList<object?>>().Read(ref reader);
            case WireFormat.DictNode:
                return Codecs.Get<IDictionary<object, object?>>().Read(ref reader);
            case WireFormat.SetNode:
                return Codecs.Get<ISet<object?>>().Read(ref reader);
            case WireFormat.BytesNode:
                return Codecs.Get<DByteArray>().Read(ref reader);
            case WireFormat.CounterNode:
                return Codecs.Get<DCounter>().Read(ref reader)!;
            case WireFormat.ArrayValue:
                return Codecs.Get<object?[]>().Read(ref reader);
            case WireFormat.ObjectNode:
            case WireFormat.ValueObject:
                return ObjectReading.Read(ref reader, typeof(object));
            case WireFormat.EnumValue:
                return ReadEnum(ref reader, offset);
            default:
                throw new ToscDataException($"Unknown node marker {kind} (offset {offset}).");
        }
    }

    private static object ReadEnum(ref GraphReader reader, int offset)
    {
        if (reader.Msg.ReadArrayHeader() != 3)
            throw new ToscDataException($"An enum value must have 3 elements (offset {offset}).");
        reader.Msg.ReadExtensionHeader();
        reader.Msg.ReadRaw(1);
        var name = reader.Context.ReadTypeName(ref reader.Msg);
        var type = reader.Context.Registry.Resolve(name, offset);
        if (!type.IsEnum)
            throw new ToscDataException($"The stored enum names {name}, which is not an enum (offset {offset}).");
        return Enum.ToObject(type, reader.Msg.ReadInt64());
    }
}
