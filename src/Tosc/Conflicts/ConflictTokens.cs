using System.Buffers.Binary;
using System.Text;
using Tosc.Changes;
using Tosc.Live;

namespace Tosc.Conflicts;

/// <summary>
/// Turns a transaction's reads and its record's writes into the 8-byte tokens of an <see cref="AppendCheck"/>, so that
/// a store finds a collision exactly when <see cref="Slot.Collide"/> would, by token equality alone:
/// <list type="bullet">
/// <item>a write of part p of node n gives "n was written", and "n's p" (a shift of positions: "n's positions" and
/// "n's count"); a whole-node write also gives "n was written whole";</item>
/// <item>a read of all of n gives "n was written"; a read of part s gives "n's s" and "n was written whole";</item>
/// <item>a whole-node write also reads all of n: its operation stores the content as the transaction left it, so the
/// store may not put it after another change to n (the core's own rebase encodes such a change anew instead).</item>
/// </list>
/// A part with no stable encoding across processes (a key of a type other than text, integers, enums, Guid) is read as
/// all of its node: more conflicts, never fewer.
/// </summary>
internal static class ConflictTokens
{
    private const byte Written = (byte)'N';
    private const byte WrittenWhole = (byte)'W';
    private const byte Part = (byte)'K';

    public static AppendCheck For(ReadSet reads, IReadOnlyList<Change> changes)
    {
        var readTokens = new List<ulong>();
        foreach (var (node, slot) in reads.All())
        {
            if (ReferenceEquals(slot, Slot.All) || PartToken(node, slot) is not { } part)
            {
                readTokens.Add(Token(node, Written));
                continue;
            }
            readTokens.Add(part);
            readTokens.Add(Token(node, WrittenWhole));
        }
        var writeTokens = new List<ulong>(changes.Count * 2);
        foreach (var change in changes)
        {
            var node = change.Node.Header.Id;
            var target = change.Written;
            writeTokens.Add(Token(node, Written));
            AddWritten(node, target.First, readTokens, writeTokens);
            if (target.Second is { } second)
                AddWritten(node, second, readTokens, writeTokens);
        }
        return new AppendCheck(Pack(readTokens), Pack(writeTokens));
    }

    private static void AddWritten(long node, object written, List<ulong> readTokens, List<ulong> writeTokens)
    {
        if (ReferenceEquals(written, Slot.All))
        {
            // The operation stores the node's whole content as it is here (a range appended, a set rebuilt): it
            // depends on all of it, as a read of all of it does.
            writeTokens.Add(Token(node, WrittenWhole));
            readTokens.Add(Token(node, Written));
            return;
        }
        if (PartToken(node, written) is not { } part)
            return; // its readers read the node whole, which "n was written" meets
        writeTokens.Add(part);
        if (ReferenceEquals(written, Slot.Positions))
            writeTokens.Add(PartToken(node, Slot.Count)!.Value);
    }

    /// <summary>
    /// The token of part <paramref name="part"/> of node <paramref name="node"/>, from bytes that are the same in every
    /// process for equal parts; <see langword="null"/> for a part that has none.
    /// </summary>
    private static ulong? PartToken(long node, object part)
    {
        var hash = Token(node, Part);
        switch (part)
        {
            case var _ when ReferenceEquals(part, Slot.Count):
                return Add(hash, (byte)'c');
            case var _ when ReferenceEquals(part, Slot.Positions):
                return Add(hash, (byte)'p');
            case string text:
                return AddText(Add(hash, (byte)'s'), text);
            case Guid guid:
            {
                Span<byte> bytes = stackalloc byte[16];
                guid.TryWriteBytes(bytes);
                return Add(Add(hash, (byte)'g'), bytes);
            }
            case bool flag:
                return Add(Add(hash, (byte)'b'), flag ? (byte)1 : (byte)0);
            case char c:
                return Integer(hash, c);
            case Enum e:
                return AddText(Add(hash, (byte)'e'), e.ToString("D"));
            case sbyte or byte or short or ushort or int or uint or long:
                return Integer(hash, Convert.ToInt64(part, System.Globalization.CultureInfo.InvariantCulture));
            case ulong u:
            {
                Span<byte> bytes = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, u);
                return Add(Add(hash, (byte)'u'), bytes);
            }
            default:
                return null;
        }
    }

    private static ulong Integer(ulong hash, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return Add(Add(hash, (byte)'i'), bytes);
    }

    private static ulong AddText(ulong hash, string text)
    {
        var length = Encoding.UTF8.GetMaxByteCount(text.Length);
        var bytes = length <= 512 ? stackalloc byte[length] : new byte[length];
        return Add(hash, bytes[..Encoding.UTF8.GetBytes(text, bytes)]);
    }

    // FNV-1a, 64 bits, over the node id (8 bytes, little-endian), the token kind and the part: stable across
    // processes and releases (the tokens are stored), and a collision only makes a store refuse an append the core
    // then checks exactly.
    private static ulong Token(long node, byte kind)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(head, node);
        return Add(Add(14695981039346656037UL, head), kind);
    }

    private static ulong Add(ulong hash, byte b) => (hash ^ b) * 1099511628211UL;

    private static ulong Add(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
            hash = Add(hash, b);
        return hash;
    }

    private static byte[] Pack(List<ulong> tokens)
    {
        tokens.Sort();
        var packed = new byte[tokens.Count * AppendCheck.TokenSize];
        var at = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            if (i > 0 && tokens[i] == tokens[i - 1])
                continue;
            BinaryPrimitives.WriteUInt64LittleEndian(packed.AsSpan(at), tokens[i]);
            at += AppendCheck.TokenSize;
        }
        return at == packed.Length ? packed : packed[..at];
    }
}
