using System.Buffers.Binary;
using System.Text;

namespace Tosc.Tests.Fuzz;

/// <summary>Ways to break a valid store: each returns a new array and leaves its input alone.</summary>
internal static class Mutators
{
    /// <summary>Bytes that mean something to MessagePack (type codes, boundaries of the fix ranges).</summary>
    private static readonly byte[] Interesting =
    [
        0x00, 0x01, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x91, 0x9f, 0xa0, 0xa1, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
        0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb,
        0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff, 0x05, 0x06, 0x08, 0x09, 0x10, 0x11, 0x14, 0x15,
    ];

    /// <summary>Headers that declare far more than any input holds: 4 G elements, pairs, bytes.</summary>
    private static readonly byte[][] HugeHeaders =
    [
        [0xdd, 0xff, 0xff, 0xff, 0xff], [0xdd, 0x7f, 0xff, 0xff, 0xff], [0xdc, 0xff, 0xff], [0xdf, 0xff, 0xff, 0xff, 0xff],
        [0xde, 0xff, 0xff], [0xdb, 0xff, 0xff, 0xff, 0xff], [0xda, 0xff, 0xff], [0xd9, 0xff], [0xc6, 0xff, 0xff, 0xff, 0xff],
        [0xc5, 0xff, 0xff], [0xc4, 0xff], [0xc9, 0xff, 0xff, 0xff, 0xff, 0x01], [0xc9, 0x80, 0x00, 0x00, 0x00, 0x05],
        [0xc8, 0xff, 0xff, 0x02], [0xc7, 0xff, 0x09], [0xdd, 0x00, 0x10, 0x00, 0x00], [0xdf, 0x00, 0x10, 0x00, 0x00],
    ];

    /// <summary>What a hostile store may name instead of an allowed type.</summary>
    private static readonly string[] HostileNames =
    [
        "System.Diagnostics.Process", "System.IO.FileInfo", "System.Object", "System.String", "System.Int32", "",
        "Tosc.Tests.Fuzz.FuzzRoot, Tosc.Tests", "Tosc.Tests.Fuzz.Missing", "Tosc.Manager", "Tosc.InprocBackend",
        "System.Collections.Generic.List`1[[System.Diagnostics.Process, System]]", "Tosc.Tests.Fuzz.FuzzColor",
        "Tosc.Tests.Fuzz.FuzzBase", "Tosc.Tests.Fuzz.FuzzDerived", "Tosc.Tests.Fuzz.FuzzChild", "Tosc.Tests.Fuzz.FuzzPoint",
        "Tosc.Tests.Fuzz.FuzzRoot", "System.Int32[]", "Castle.Proxies.FuzzRootProxy", "\0", "../../etc/passwd",
    ];

    public static byte[] FlipBits(Random random, byte[] data)
    {
        var copy = (byte[])data.Clone();
        if (copy.Length == 0)
            return copy;
        var flips = random.Next(4) == 0 ? random.Next(2, 9) : 1;
        for (var i = 0; i < flips; i++)
            copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        return copy;
    }

    public static byte[] SetByte(Random random, byte[] data)
    {
        var copy = (byte[])data.Clone();
        if (copy.Length > 0)
            copy[random.Next(copy.Length)] = Interesting[random.Next(Interesting.Length)];
        return copy;
    }

    public static byte[] Insert(Random random, byte[] data)
    {
        var at = random.Next(data.Length + 1);
        var count = random.Next(1, 9);
        var inserted = new byte[count];
        for (var i = 0; i < count; i++)
            inserted[i] = random.Next(2) == 0 ? Interesting[random.Next(Interesting.Length)] : (byte)random.Next(256);
        return [.. data.AsSpan(0, at), .. inserted, .. data.AsSpan(at)];
    }

    public static byte[] Delete(Random random, byte[] data)
    {
        if (data.Length == 0)
            return data;
        var at = random.Next(data.Length);
        var count = Math.Min(data.Length - at, random.Next(4) == 0 ? random.Next(1, 64) : random.Next(1, 4));
        return [.. data.AsSpan(0, at), .. data.AsSpan(at + count)];
    }

    public static byte[] Truncate(Random random, byte[] data) => data[..random.Next(data.Length)];

    /// <summary>Copies a run of bytes from one place (of this or another store) over or into another place.</summary>
    public static byte[] Splice(Random random, byte[] data, byte[] donor)
    {
        if (data.Length == 0 || donor.Length == 0)
            return data;
        var from = random.Next(donor.Length);
        var length = Math.Min(donor.Length - from, random.Next(1, 48));
        var at = random.Next(data.Length);
        var chunk = donor.AsSpan(from, length);
        return random.Next(2) == 0
            ? [.. data.AsSpan(0, at), .. chunk, .. data.AsSpan(at)]
            : [.. data.AsSpan(0, at), .. chunk, .. data.AsSpan(Math.Min(data.Length, at + length))];
    }

    /// <summary>Puts a header that declares a huge length where a header (or any byte) was.</summary>
    public static byte[] HugeLength(Random random, byte[] data)
    {
        var header = HugeHeaders[random.Next(HugeHeaders.Length)];
        var at = PickHeader(random, data);
        var replaced = 1 + LengthBytes(data[at]);
        replaced = Math.Min(replaced, data.Length - at);
        return [.. data.AsSpan(0, at), .. header, .. data.AsSpan(at + replaced)];
    }

    /// <summary>Replaces one stored type name with a hostile one, or with an out-of-range index, nil, a map...</summary>
    public static byte[] TypeName(Random random, byte[] data)
    {
        var occurrences = new List<(int At, int Length)>();
        foreach (var name in FuzzCorpus.TypeNames)
        {
            var encoded = Str(name);
            var span = data.AsSpan();
            var offset = 0;
            int found;
            while ((found = span[offset..].IndexOf(encoded)) >= 0)
            {
                occurrences.Add((offset + found, encoded.Length));
                offset += found + encoded.Length;
            }
        }
        if (occurrences.Count == 0)
            return Insert(random, data);
        var (at, length) = occurrences[random.Next(occurrences.Count)];
        byte[] replacement = random.Next(10) switch
        {
            0 => [0xcc, (byte)random.Next(2, 256)],              // an index of a type name not defined before
            1 => [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],            // a negative index
            2 => [0xc0],                                        // nil
            3 => [0x80],                                        // an empty map
            4 => [0xa2, 0xc3, 0x28],                            // invalid UTF-8
            5 => Str(new string('A', random.Next(100, 70_000))), // a very long name
            _ => Str(HostileNames[random.Next(HostileNames.Length)]),
        };
        return [.. data.AsSpan(0, at), .. replacement, .. data.AsSpan(at + length)];
    }

    public static byte[] RandomBytes(Random random, bool withHeader)
    {
        var length = random.Next(4) == 0 ? random.Next(0, 4096) : random.Next(0, 64);
        var bytes = new byte[length];
        random.NextBytes(bytes);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (random.Next(3) == 0)
                bytes[i] = Interesting[random.Next(Interesting.Length)];
        }
        return withHeader ? [.. "TOSC\u0001\u0000"u8, .. bytes] : bytes;
    }

    public static byte[] Str(string value)
    {
        var utf8 = Encoding.UTF8.GetBytes(value);
        if (utf8.Length < 32)
            return [(byte)(0xa0 | utf8.Length), .. utf8];
        if (utf8.Length < 256)
            return [0xd9, (byte)utf8.Length, .. utf8];
        if (utf8.Length < 65536)
        {
            var header = new byte[3];
            header[0] = 0xda;
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(1), (ushort)utf8.Length);
            return [.. header, .. utf8];
        }
        var big = new byte[5];
        big[0] = 0xdb;
        BinaryPrimitives.WriteUInt32BigEndian(big.AsSpan(1), (uint)utf8.Length);
        return [.. big, .. utf8];
    }

    /// <summary>A position holding a container, string, binary or extension header when there is one nearby, else any position.</summary>
    private static int PickHeader(Random random, byte[] data)
    {
        var start = random.Next(Math.Max(1, data.Length));
        for (var i = 0; i < data.Length; i++)
        {
            var at = (start + i) % data.Length;
            var code = data[at];
            if (code is >= 0x80 and <= 0xbf or >= 0xc4 and <= 0xc9 or >= 0xd4 and <= 0xdf)
                return at;
        }
        return start % Math.Max(1, data.Length);
    }

    /// <summary>How many length bytes follow a header byte (0 for fix formats).</summary>
    private static int LengthBytes(byte code) => code switch
    {
        0xc4 or 0xc7 or 0xd9 => 1,
        0xc5 or 0xc8 or 0xda or 0xdc or 0xde => 2,
        0xc6 or 0xc9 or 0xdb or 0xdd or 0xdf => 4,
        _ => 0,
    };
}
