using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Tosc.Chaos;

/// <summary>
/// One change of a transaction, written to the journal before the commit so the checks can replay it.
/// Text forms: "c3" counter += 3, "a" append the next token, "pk4" Entries["k4"] = id, "dk4" remove "k4",
/// "st2" add tag "t2", "rt2" remove it, "[" and "]" open and complete a nested transaction scope.
/// </summary>
internal readonly record struct Op(char Kind, string Arg)
{
    public override string ToString() => Kind switch
    {
        '[' or ']' or 'a' => Kind.ToString(),
        _ => Kind + Arg,
    };

    public static Op Parse(string text) => new(text[0], text[1..]);

    public static Op[] ParseAll(IEnumerable<string> texts) => [.. texts.Select(Parse)];

    public static string Format(IEnumerable<Op> ops) => string.Join(' ', ops);

    /// <summary>
    /// A random transaction of 1 to 6 changes, at least one of them an append (its trace in the log). Under
    /// <paramref name="contention"/>, every transaction increments the counter (which reads it) and the keys and
    /// tags come from two each, so transactions collide most of the time.
    /// </summary>
    public static Op[] Random(Random rng, bool allowNested, bool contention = false)
    {
        var count = rng.Next(1, 7);
        var ops = new List<Op>(count + 2);
        var keys = contention ? 2 : 16;
        var tags = contention ? 2 : 8;
        for (var i = 0; i < count; i++)
        {
            var roll = rng.Next(100);
            ops.Add(roll switch
            {
                < 30 => new Op('c', rng.Next(1, 4).ToString(CultureInfo.InvariantCulture)),
                < 55 => new Op('a', ""),
                < 75 => new Op('p', "k" + rng.Next(keys).ToString(CultureInfo.InvariantCulture)),
                < 85 => new Op('d', "k" + rng.Next(keys).ToString(CultureInfo.InvariantCulture)),
                < 93 => new Op('s', "t" + rng.Next(tags).ToString(CultureInfo.InvariantCulture)),
                _ => new Op('r', "t" + rng.Next(tags).ToString(CultureInfo.InvariantCulture)),
            });
        }
        if (contention && !ops.Any(op => op.Kind == 'c'))
            ops.Insert(rng.Next(ops.Count + 1), new Op('c', "1"));
        if (!ops.Any(op => op.Kind == 'a'))
            ops.Insert(rng.Next(ops.Count + 1), new Op('a', ""));
        if (allowNested && ops.Count > 1 && rng.Next(100) < 40)
        {
            var start = rng.Next(ops.Count);
            var end = rng.Next(start + 1, ops.Count + 1);
            ops.Insert(end, new Op(']', ""));
            ops.Insert(start, new Op('[', ""));
        }
        return [.. ops];
    }

    public static string Token(string id, int index) => id + "/" + index.ToString(CultureInfo.InvariantCulture);

    public static int AppendCount(IEnumerable<Op> ops) => ops.Count(op => op.Kind == 'a');
}

/// <summary>The plain model the checks replay committed transactions into, and the digest both sides compare.</summary>
internal sealed class Model
{
    public long Counter { get; set; }

    public List<string> Appends { get; } = [];

    public Dictionary<string, string> Entries { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Tags { get; } = new(StringComparer.Ordinal);

    public void Apply(string id, IEnumerable<Op> ops)
    {
        var appended = 0;
        foreach (var op in ops)
        {
            switch (op.Kind)
            {
                case 'c':
                    Counter += long.Parse(op.Arg, CultureInfo.InvariantCulture);
                    break;
                case 'a':
                    Appends.Add(Op.Token(id, appended++));
                    break;
                case 'p':
                    Entries[op.Arg] = id;
                    break;
                case 'd':
                    Entries.Remove(op.Arg);
                    break;
                case 's':
                    Tags.Add(op.Arg);
                    break;
                case 'r':
                    Tags.Remove(op.Arg);
                    break;
            }
        }
    }

    public static string Digest(long counter, IEnumerable<string> appends, IEnumerable<KeyValuePair<string, string>> entries, IEnumerable<string> tags)
    {
        var text = new StringBuilder();
        text.Append(counter.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var token in appends)
            text.Append(token).Append(',');
        text.Append('\n');
        foreach (var (key, value) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
            text.Append(key).Append('=').Append(value).Append(',');
        text.Append('\n');
        foreach (var tag in tags.Order(StringComparer.Ordinal))
            text.Append(tag).Append(',');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    public static string Digest(ChaosState state) => Digest(state.Counter, state.Appends, state.Entries, state.Tags);
}
