using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tosc.Testing;

namespace Tosc.Chaos;

/// <summary>
/// One worker incarnation's record of what it did, one line per event, flushed to the operating system after each
/// line (so it survives a SIGKILL of the worker). Lines: "kind timestamp fields...", the timestamp from
/// <see cref="Stopwatch.GetTimestamp"/> (CLOCK_MONOTONIC on Linux: comparable between processes).
/// </summary>
/// <remarks>
/// I id ops: about to commit (written before the first attempt). A id attempts: the commit was acknowledged.
/// F id reason: Tosc reported that it did not commit (retries or deadline used up). U id reason: the outcome is unknown
/// (a backend failure, the worker being stopped). R id ops: a deliberate rollback, never to be visible.
/// L where: a lost reply was injected. M conflicts retries: the worker's Tosc meters so far. X message: a local check failed. E message: an unexpected exception.
/// </remarks>
internal sealed class JournalWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly Lock _gate = new();

    public JournalWriter(string path)
    {
        Path = path;
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 1);
    }

    public string Path { get; }

    public void Intent(string id, IEnumerable<Op> ops) => Line('I', id, Op.Format(ops));

    public void Ack(string id, int attempts) => Line('A', id, attempts.ToString(CultureInfo.InvariantCulture));

    public void Failed(string id, string reason) => Line('F', id, Clean(reason));

    public void Unknown(string id, string reason) => Line('U', id, Clean(reason));

    public void RolledBack(string id, IEnumerable<Op> ops) => Line('R', id, Op.Format(ops));

    public void LostReply(ReplyLoss loss) => Line('L', loss == ReplyLoss.BeforeLanding ? "before" : "after");

    public void Meters(long conflicts, long retries) => Line('M', conflicts.ToString(CultureInfo.InvariantCulture), retries.ToString(CultureInfo.InvariantCulture));

    public void Violation(string message) => Line('X', Clean(message));

    public void Error(string message) => Line('E', Clean(message));

    public void Dispose() => _file.Dispose();

    private static string Clean(string text) => text.ReplaceLineEndings(" ");

    private void Line(char kind, params string[] fields)
    {
        var line = new StringBuilder().Append(kind).Append(' ').Append(Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture));
        foreach (var field in fields)
            line.Append(' ').Append(field);
        var bytes = Encoding.UTF8.GetBytes(line.Append('\n').ToString());
        lock (_gate)
        {
            // One write per line: a SIGKILL can tear at most the last line, and the reader drops a torn one.
            _file.Write(bytes);
            _file.Flush();
        }
    }
}

/// <summary>The facts the checks need about one transaction, gathered from every journal.</summary>
internal sealed class TxRecord(string id, string worker)
{
    public string Id { get; } = id;

    /// <summary>The worker incarnation ("w2i3") that ran it.</summary>
    public string Worker { get; } = worker;

    public long Sequence { get; init; }

    public Op[] Ops { get; set; } = [];

    public long IntentAt { get; set; } = long.MaxValue;

    public long? AckedAt { get; set; }

    public int Attempts { get; set; }

    public char Outcome { get; set; } = '?'; // A acknowledged, F failed, U unknown, R rolled back, ? in flight when the worker died
}

internal sealed class JournalSet
{
    private readonly Dictionary<string, (long Conflicts, long Retries)> _meters = new(StringComparer.Ordinal);

    public Dictionary<string, TxRecord> Transactions { get; } = new(StringComparer.Ordinal);

    public List<string> Violations { get; } = [];

    public List<string> Errors { get; } = [];

    public int LostReplies { get; private set; }

    /// <summary>Tosc's conflict and retry counters: the last figures each worker incarnation journaled, summed.</summary>
    public long Conflicts => _meters.Values.Sum(m => m.Conflicts);

    /// <inheritdoc cref="Conflicts"/>
    public long Retries => _meters.Values.Sum(m => m.Retries);

    public int TornLines { get; private set; }

    public int Files { get; private set; }

    public static JournalSet Read(string directory)
    {
        var set = new JournalSet();
        foreach (var path in Directory.EnumerateFiles(directory, "journal-*.log").Order(StringComparer.Ordinal))
        {
            set.Files++;
            var worker = System.IO.Path.GetFileNameWithoutExtension(path)["journal-".Length..];
            foreach (var line in File.ReadAllLines(path))
            {
                if (!set.TryAdd(worker, line))
                    set.TornLines++;
            }
        }
        return set;
    }

    private bool TryAdd(string worker, string line)
    {
        var parts = line.Split(' ');
        if (parts.Length < 3 || parts[0].Length != 1 || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var at))
            return false;
        var kind = parts[0][0];
        switch (kind)
        {
            case 'L':
                LostReplies++;
                return true;
            case 'M':
                if (parts.Length < 4 || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out var conflicts) || !long.TryParse(parts[3], CultureInfo.InvariantCulture, out var retries))
                    return false;
                _meters[worker] = (conflicts, retries);
                return true;
            case 'X':
                Violations.Add($"{worker}: {string.Join(' ', parts[2..])}");
                return true;
            case 'E':
                Errors.Add($"{worker}: {string.Join(' ', parts[2..])}");
                return true;
        }
        var id = parts[2];
        var tx = Get(id, worker);
        switch (kind)
        {
            case 'I':
                tx.Ops = Op.ParseAll(parts[3..].Where(p => p.Length > 0));
                tx.IntentAt = at;
                return true;
            case 'R':
                tx.Ops = Op.ParseAll(parts[3..].Where(p => p.Length > 0));
                tx.IntentAt = at;
                tx.Outcome = 'R';
                return true;
            case 'A':
                tx.AckedAt = at;
                tx.Outcome = 'A';
                tx.Attempts = parts.Length > 3 && int.TryParse(parts[3], CultureInfo.InvariantCulture, out var attempts) ? attempts : 1;
                return true;
            case 'F':
            case 'U':
                tx.Outcome = kind;
                return true;
            default:
                return false;
        }
    }

    private TxRecord Get(string id, string worker)
    {
        if (!Transactions.TryGetValue(id, out var tx))
        {
            var dot = id.LastIndexOf('.');
            var sequence = dot > 0 && long.TryParse(id[(dot + 1)..], CultureInfo.InvariantCulture, out var s) ? s : -1;
            tx = new TxRecord(id, worker) { Sequence = sequence };
            Transactions.Add(id, tx);
        }
        return tx;
    }
}
