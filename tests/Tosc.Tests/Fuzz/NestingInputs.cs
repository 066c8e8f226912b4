using System.Buffers.Binary;

namespace Tosc.Tests.Fuzz;

/// <summary>Stores nested far deeper than any limit, one per way the format can nest.</summary>
internal static class NestingInputs
{
    public static readonly string[] Shapes = ["lists", "lists16", "dicts", "sets", "objects", "arrays", "skipped", "bare-arrays", "dict-keys"];

    public static (byte[] Data, Type Declared) Build(string shape, int depth)
    {
        var bytes = new List<byte>(depth * 12 + 64);
        bytes.AddRange("TOSC\u0001\u0000"u8.ToArray());
        var declared = typeof(object);
        switch (shape)
        {
            case "lists": // [marker, [marker, [... nil]]] read as object: every level is a DList<object?>
                for (var i = 0; i < depth; i++)
                {
                    bytes.Add(0x92);
                    Marker(bytes, 1, i);
                }
                bytes.Add(0xc0);
                break;
            case "lists16": // the same with array 16 headers, declared as a list
                declared = typeof(IList<object?>);
                for (var i = 0; i < depth; i++)
                {
                    bytes.AddRange([0xdc, 0x00, 0x02]);
                    Marker(bytes, 1, i);
                }
                bytes.Add(0xc0);
                break;
            case "dicts": // [marker, {"k": [marker, {"k": ...}]}]
                declared = typeof(IDictionary<string, object?>);
                for (var i = 0; i < depth; i++)
                {
                    bytes.Add(0x92);
                    Marker(bytes, 2, i);
                    bytes.AddRange([0x81, 0xa1, (byte)'k']);
                }
                bytes.Add(0xc0);
                break;
            case "sets":
                for (var i = 0; i < depth; i++)
                {
                    bytes.Add(0x92);
                    Marker(bytes, 3, i);
                }
                bytes.Add(0xc0);
                break;
            case "objects": // FuzzChild.Next.Next.Next...
                declared = typeof(FuzzChild);
                for (var i = 0; i < depth; i++)
                {
                    bytes.Add(0x93);
                    Marker(bytes, 5, i);
                    if (i == 0)
                        bytes.AddRange(Mutators.Str("Tosc.Tests.Fuzz.FuzzChild"));
                    else
                        bytes.Add(0x00); // type name #0, defined at the top
                    bytes.AddRange([0x81, .. Mutators.Str("Next")]);
                }
                bytes.Add(0xc0);
                break;
            case "arrays": // immutable object?[] inside object?[]
                for (var i = 0; i < depth; i++)
                    bytes.AddRange([0x92, 0xd4, 0x08, 0x00]);
                bytes.Add(0xc0);
                break;
            case "skipped": // an unknown property of a FuzzChild whose value nests deep: the decoder must skip it without recursion
                declared = typeof(FuzzChild);
                bytes.Add(0x93);
                Marker(bytes, 5, 0);
                bytes.AddRange(Mutators.Str("Tosc.Tests.Fuzz.FuzzChild"));
                bytes.AddRange([0x81, .. Mutators.Str("Gone")]);
                for (var i = 0; i < depth; i++)
                    bytes.Add((byte)(i % 2 == 0 ? 0x91 : 0x81 /* a map whose key is the next container */));
                bytes.Add(0xc0);
                break;
            case "bare-arrays": // MessagePack arrays without Tosc markers
                for (var i = 0; i < depth; i++)
                    bytes.Add(0x91);
                bytes.Add(0xc0);
                break;
            case "dict-keys": // dictionaries whose keys are lists of lists of ...
                for (var i = 0; i < depth; i++)
                {
                    bytes.Add(0x92);
                    Marker(bytes, 2, i);
                    bytes.Add(0x81);
                }
                bytes.Add(0x01);
                for (var i = 0; i < depth; i++)
                    bytes.Add(0x02);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape, "Unknown shape.");
        }
        return ([.. bytes], declared);
    }

    private static void Marker(List<byte> bytes, byte kind, int index)
    {
        Span<byte> id = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(id, 0x1000 + index);
        bytes.AddRange([0xd7, kind, .. id]);
    }
}
