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
        var readTokens = new HashSet<ulong>();
        foreach (var (node, slot) in reads.All())
        {
            if (ReferenceEquals(slot, Slot.All) || Encoded(slot) is not { } part)
            {
                readTokens.Add(Token(node, Written, []));
                continue;
            }
            readTokens.Add(Token(node, Part, part));
            readTokens.Add(Token(node, WrittenWhole, []));
        }
        var writeTokens = new HashSet<ulong>();
        foreach (var change in changes)
        {
            var node = change.Node.Header.Id;
            writeTokens.Add(Token(node, Written, []));
            foreach (var written in change.Written.Parts())
            {
                if (ReferenceEquals(written, Slot.All))
                {
                    // The operation stores the node's whole content as it is here (a range appended, a set rebuilt):
                    // it depends on all of it, as a read of all of it does.
                    writeTokens.Add(Token(node, WrittenWhole, []));
                    readTokens.Add(Token(node, Written, []));
                    continue;
                }
                if (Encoded(written) is not { } part)
                    continue; // its readers read the node whole, which "n was written" meets
                writeTokens.Add(Token(node, Part, part));
                if (ReferenceEquals(written, Slot.Positions))
                    writeTokens.Add(Token(node, Part, Encoded(Slot.Count)!));
            }
        }
        return new AppendCheck(Pack(readTokens), Pack(writeTokens));
    }

    /// <summary>A part's bytes, the same in every process for equal parts; <see langword="null"/> for a part that has none.</summary>
    private static byte[]? Encoded(object part) => part switch
    {
        _ when ReferenceEquals(part, Slot.Count) => [(byte)'c'],
        _ when ReferenceEquals(part, Slot.Positions) => [(byte)'p'],
        string text => [(byte)'s', .. Encoding.UTF8.GetBytes(text)],
        Guid guid => [(byte)'g', .. guid.ToByteArray()],
        bool flag => [(byte)'b', flag ? (byte)1 : (byte)0],
        char c => Integer((long)c),
        Enum e => [(byte)'e', .. Encoding.UTF8.GetBytes(e.ToString("D"))],
        sbyte or byte or short or ushort or int or uint or long => Integer(Convert.ToInt64(part, System.Globalization.CultureInfo.InvariantCulture)),
        ulong u => [(byte)'u', .. BitConverter.GetBytes(u)],
        _ => null,
    };

    private static byte[] Integer(long value)
    {
        var bytes = new byte[9];
        bytes[0] = (byte)'i';
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(1), value);
        return bytes;
    }

    // FNV-1a, 64 bits, over the node id, the token kind and the part: stable across processes and releases (the
    // tokens are stored), and a collision only makes a store refuse an append the core then checks exactly.
    private static ulong Token(long node, byte kind, ReadOnlySpan<byte> part)
    {
        var hash = 14695981039346656037UL;
        Span<byte> head = stackalloc byte[9];
        BinaryPrimitives.WriteInt64LittleEndian(head, node);
        head[8] = kind;
        foreach (var b in head)
            hash = (hash ^ b) * 1099511628211UL;
        foreach (var b in part)
            hash = (hash ^ b) * 1099511628211UL;
        return hash;
    }

    private static byte[] Pack(HashSet<ulong> tokens)
    {
        var packed = new byte[tokens.Count * AppendCheck.TokenSize];
        var at = 0;
        foreach (var token in tokens)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(packed.AsSpan(at), token);
            at += AppendCheck.TokenSize;
        }
        return packed;
    }
}
