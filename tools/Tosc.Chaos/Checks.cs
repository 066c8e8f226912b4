using System.Globalization;

namespace Tosc.Chaos;

/// <summary>
/// Verifies the final store against the journals. The store's append list is the commit log: every landed
/// transaction left its tokens there, contiguous and in order, so the checks know which transactions landed and in
/// which order, and can replay them to predict the counter, the dictionary and the set exactly.
/// </summary>
internal sealed class Checks(JournalSet journals, ChaosState? state, List<Convergence> convergence, List<string> hung, long quietStart)
{
    private readonly List<(bool Passed, string Name, string Detail)> _results = [];

    public Figures Figures { get; } = new();

    public List<(bool Passed, string Name, string Detail)> Run()
    {
        var transactions = journals.Transactions;
        Figures.Started = transactions.Values.Count(t => t.Outcome != 'R');
        Figures.Acknowledged = transactions.Values.Count(t => t.Outcome == 'A');
        Figures.Failed = transactions.Values.Count(t => t.Outcome == 'F');
        Figures.RolledBack = transactions.Values.Count(t => t.Outcome == 'R');
        Figures.LostReplies = journals.LostReplies;
        Figures.Incarnations = journals.Files;

        Check(state is not null, "store decodes", state is null ? "the final state could not be decoded" : $"{state.Appends.Count} appends, counter {state.Counter}");
        if (state is null)
            return _results;
        Figures.Appends = state.Appends.Count;

        // Which transactions landed, where, and whether each left exactly its own tokens, once, together and in order.
        var problems = new List<string>();
        var duplicates = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var landed = new List<(TxRecord Tx, int Position)>();
        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        var appends = state.Appends;
        for (var i = 0; i < appends.Count; i++)
        {
            var token = appends[i];
            if (!seen.Add(token))
            {
                duplicates.Add($"{token} at {i}");
                continue;
            }
            var slash = token.LastIndexOf('/');
            if (slash <= 0 || !int.TryParse(token[(slash + 1)..], CultureInfo.InvariantCulture, out var index))
            {
                problems.Add($"malformed token '{token}' at {i}");
                continue;
            }
            var id = token[..slash];
            if (!transactions.TryGetValue(id, out var tx) || tx.IntentAt == long.MaxValue)
            {
                problems.Add($"token {token} at {i} belongs to no journaled transaction");
                continue;
            }
            if (index == 0)
            {
                positions[id] = i;
                landed.Add((tx, i));
            }
            else if (!positions.TryGetValue(id, out var first) || first + index != i)
            {
                problems.Add($"token {token} at {i} is not right after the rest of its transaction (a torn or interleaved commit)");
            }
        }
        Check(duplicates.Count == 0, "every append appears once", duplicates.Count == 0 ? $"{appends.Count} unique tokens" : $"{duplicates.Count} duplicates: {Sample(duplicates)}");

        var visible = landed.Where(l => l.Tx.Outcome is 'R' or 'F').Select(l => $"{l.Tx.Id} ({(l.Tx.Outcome == 'R' ? "rolled back" : "reported failed")})").ToList();
        Check(visible.Count == 0, "no rolled-back or failed transaction is visible", visible.Count == 0
            ? $"{Figures.RolledBack} deliberate rollbacks and {Figures.Failed} failed commits left no trace"
            : $"{visible.Count} visible: {Sample(visible)}");

        foreach (var (tx, position) in landed)
        {
            var expected = Op.AppendCount(tx.Ops);
            var count = 0;
            while (position + count < appends.Count && appends[position + count] == Op.Token(tx.Id, count))
                count++;
            if (count != expected)
                problems.Add($"{tx.Id} left {count} of its {expected} tokens at {position}");
        }
        Check(problems.Count == 0, "every landed commit is whole and contiguous", problems.Count == 0 ? $"{landed.Count} commits in the log" : Sample(problems));

        var landedIds = landed.Select(l => l.Tx.Id).ToHashSet(StringComparer.Ordinal);
        var missing = transactions.Values.Where(t => t.Outcome == 'A' && !landedIds.Contains(t.Id)).Select(t => t.Id).ToList();
        Check(missing.Count == 0, "every acknowledged commit is in the store", missing.Count == 0 ? $"{Figures.Acknowledged} acknowledged" : $"{missing.Count} lost: {Sample(missing)}");
        Figures.LandedUnacknowledged = landed.Count(l => l.Tx.Outcome is 'U' or '?');
        Figures.NotLanded = transactions.Values.Count(t => t.Outcome is 'U' or '?' && !landedIds.Contains(t.Id));

        CheckOrder(landed);
        CheckReplay(landed);

        Check(hung.Count == 0, "every worker stops when asked", hung.Count == 0 ? "none hung" : $"still running 90 s after the stop request (a deadlock?): {string.Join(", ", hung)}");

        var diverged = convergence.Where(c => !c.Converged).Select(c => $"{c.Worker}: {c.Detail}").ToList();
        Check(convergence.Count > 0 && diverged.Count == 0, "every live manager converges to the stored state", convergence.Count == 0
            ? "no live manager to check"
            : diverged.Count == 0 ? $"{convergence.Count} managers show the final version and content" : Sample(diverged));

        var reported = journals.Errors.Concat(journals.Violations).ToList();
        Check(reported.Count == 0, "workers saw no unexpected errors or local violations", reported.Count == 0 ? "none" : $"{reported.Count}: {Sample(reported)}");

        var afterFaults = transactions.Values.Count(t => t.AckedAt > quietStart);
        Check(Figures.Acknowledged > 0 && afterFaults > 0, "the workers make progress after the faults", $"{afterFaults} commits acknowledged after the last fault");
        return _results;
    }

    /// <summary>
    /// One worker incarnation runs one transaction at a time, so its commits must be in the log in its order; and a
    /// transaction that started after another was acknowledged must come after it (real-time order, across processes).
    /// </summary>
    private void CheckOrder(List<(TxRecord Tx, int Position)> landed)
    {
        var problems = new List<string>();
        foreach (var group in landed.GroupBy(l => l.Tx.Worker))
        {
            long last = -1;
            foreach (var (tx, position) in group.OrderBy(l => l.Position))
            {
                if (tx.Sequence <= last)
                    problems.Add($"{tx.Id} is in the log after a later commit of {tx.Worker}");
                last = tx.Sequence;
            }
        }
        Check(problems.Count == 0, "each worker's commits are in the log in its order", problems.Count == 0 ? $"{landed.Select(l => l.Tx.Worker).Distinct().Count()} worker incarnations" : Sample(problems));

        // Scan from the end: the earliest acknowledgment among the commits after each position.
        var violations = new List<string>();
        var earliestAckAfter = long.MaxValue;
        string? earliestId = null;
        for (var i = landed.Count - 1; i >= 0; i--)
        {
            var tx = landed[i].Tx;
            if (tx.IntentAt > earliestAckAfter)
                violations.Add($"{tx.Id} started after {earliestId} was acknowledged but is ordered before it");
            if (tx.AckedAt is { } acked && acked < earliestAckAfter)
            {
                earliestAckAfter = acked;
                earliestId = tx.Id;
            }
        }
        Check(violations.Count == 0, "commits respect real-time order", violations.Count == 0 ? "no transaction is ordered before one acknowledged before it started" : Sample(violations));
    }

    private void CheckReplay(List<(TxRecord Tx, int Position)> landed)
    {
        var model = new Model();
        foreach (var (tx, _) in landed)
            model.Apply(tx.Id, tx.Ops);
        var s = state!;
        var acknowledgedIncrements = journals.Transactions.Values.Where(t => t.Outcome == 'A').Sum(t => t.Ops.Where(o => o.Kind == 'c').Sum(o => long.Parse(o.Arg, CultureInfo.InvariantCulture)));
        Check(s.Counter == model.Counter, "the counter equals the landed increments",
            $"stored {s.Counter}, replayed {model.Counter} (acknowledged increments {acknowledgedIncrements}, the rest from commits whose reply was lost but which landed)");
        Check(s.Appends.SequenceEqual(model.Appends, StringComparer.Ordinal), "the append list equals the replay", $"{s.Appends.Count} stored, {model.Appends.Count} replayed");
        var entriesEqual = s.Entries.Count == model.Entries.Count && s.Entries.All(e => model.Entries.TryGetValue(e.Key, out var v) && v == e.Value);
        Check(entriesEqual, "the dictionary equals the replay of its puts and removes",
            entriesEqual ? $"{s.Entries.Count} entries" : $"stored {Show(s.Entries)}, replayed {Show(model.Entries)}");
        Check(s.Tags.SetEquals(model.Tags), "the set equals the replay of its adds and removes", $"stored {string.Join(",", s.Tags.Order(StringComparer.Ordinal))}, replayed {string.Join(",", model.Tags.Order(StringComparer.Ordinal))}");
    }

    private void Check(bool passed, string name, string detail) => _results.Add((passed, name, detail));

    private static string Sample(List<string> items) => string.Join("; ", items.Take(5)) + (items.Count > 5 ? $"; ... ({items.Count} in all)" : "");

    private static string Show(IEnumerable<KeyValuePair<string, string>> entries) =>
        string.Join(",", entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}"));
}

internal sealed class Figures
{
    public int Started { get; set; }

    public int Acknowledged { get; set; }

    public int LandedUnacknowledged { get; set; }

    public int NotLanded { get; set; }

    public int Failed { get; set; }

    public int RolledBack { get; set; }

    /// <summary>Tosc's own counters (the "Tosc" meter): commits that lost the compare-and-swap, and bodies rerun.</summary>
    public long ToscConflicts { get; set; }

    /// <inheritdoc cref="ToscConflicts"/>
    public long ToscRetries { get; set; }

    public int LostReplies { get; set; }

    public int Incarnations { get; set; }

    public int Appends { get; set; }
}
