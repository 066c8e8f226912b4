using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tosc.Benchmarks.Harness;

/// <summary>One row of a scenario's table: named cells in column order.</summary>
internal sealed class Row
{
    public List<KeyValuePair<string, object?>> Cells { get; } = [];

    public Row Add(string column, object? value)
    {
        Cells.Add(new(column, value));
        return this;
    }

    public object? this[string column] => Cells.FirstOrDefault(c => c.Key == column).Value;
}

/// <summary>What a scenario produced: its rows (printed as a table, written as JSON) and notes that explain them.</summary>
internal sealed class ScenarioResult(string name, string title)
{
    public string Name { get; } = name;

    public string Title { get; } = title;

    public List<Row> Rows { get; } = [];

    public List<string> Notes { get; } = [];

    /// <summary>Adds a row and prints it at once, so a long run shows progress.</summary>
    public void Add(Row row)
    {
        Rows.Add(row);
        Console.WriteLine("  " + string.Join("  ", row.Cells.Select(c => $"{c.Key}={Format(c.Value)}")));
    }

    public void Skip(string backend, string reason)
    {
        Notes.Add($"{backend}: skipped ({reason})");
        Console.WriteLine($"  {backend}: skipped ({reason})");
    }

    public IReadOnlyList<string> Columns() => Rows.SelectMany(r => r.Cells.Select(c => c.Key)).Distinct().ToList();

    /// <summary>A Markdown table (also readable as plain text).</summary>
    public string ToMarkdown()
    {
        var columns = Columns();
        var text = new StringBuilder();
        text.Append("| ").Append(string.Join(" | ", columns)).AppendLine(" |");
        text.Append('|').Append(string.Concat(columns.Select(_ => " --- |"))).AppendLine();
        foreach (var row in Rows)
            text.Append("| ").Append(string.Join(" | ", columns.Select(c => Format(row[c])))).AppendLine(" |");
        foreach (var note in Notes)
            text.AppendLine().Append("- ").Append(note);
        if (Notes.Count > 0)
            text.AppendLine();
        return text.ToString();
    }

    public void Write(string directory, RunInfo run)
    {
        var rows = new JsonArray();
        foreach (var row in Rows)
        {
            var cells = new JsonObject();
            foreach (var (key, value) in row.Cells)
                cells[key] = value switch
                {
                    null => null,
                    double d when double.IsNaN(d) || double.IsInfinity(d) => null,
                    double d => JsonValue.Create(Math.Round(d, 4)),
                    int i => JsonValue.Create(i),
                    long l => JsonValue.Create(l),
                    bool b => JsonValue.Create(b),
                    _ => JsonValue.Create(value.ToString()),
                };
            rows.Add(cells);
        }
        var document = new JsonObject
        {
            ["scenario"] = Name,
            ["title"] = Title,
            ["mode"] = run.Quick ? "quick" : "full",
            ["date"] = run.Started.ToString("O", CultureInfo.InvariantCulture),
            ["machine"] = run.Machine.ToJson(),
            ["columns"] = new JsonArray(Columns().Select(c => (JsonNode)JsonValue.Create(c)!).ToArray()),
            ["rows"] = rows,
            ["notes"] = new JsonArray(Notes.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
        };
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, Name + ".json"), document.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
    }

    /// <summary>Numbers with about three significant digits; NaN as "n/a".</summary>
    public static string Format(object? value) => value switch
    {
        null => "",
        double d when double.IsNaN(d) => "n/a",
        double d when d == 0 => "0",
        double d when Math.Abs(d) >= 1000 => d.ToString("#,0", CultureInfo.InvariantCulture),
        double d when Math.Abs(d) >= 100 => d.ToString("0", CultureInfo.InvariantCulture),
        double d when Math.Abs(d) >= 10 => d.ToString("0.0", CultureInfo.InvariantCulture),
        double d when Math.Abs(d) >= 1 => d.ToString("0.00", CultureInfo.InvariantCulture),
        double d => d.ToString("0.000", CultureInfo.InvariantCulture),
        long l => l.ToString("#,0", CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>Decimal units (1 KB = 1000 B), as the scenario sizes are given.</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1_000_000 => $"{bytes / 1e6:0.#} MB",
        >= 1_000 => $"{bytes / 1e3:0.#} KB",
        _ => $"{bytes} B",
    };
}

/// <summary>The machine a run happened on (the figures mean little without it).</summary>
internal sealed record MachineInfo(int Cores, string Memory, string Os, string Dotnet, string Cpu, string LoadAverage)
{
    public static MachineInfo Current()
    {
        static string Field(string file, string prefix)
        {
            try
            {
                return File.ReadLines(file).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
            }
            catch (IOException)
            {
                return "unknown";
            }
        }
        string load;
        try
        {
            load = string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            load = "unknown";
        }
        return new MachineInfo(
            Environment.ProcessorCount,
            Field("/proc/meminfo", "MemTotal"),
            System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            Field("/proc/cpuinfo", "model name"),
            load);
    }

    public JsonObject ToJson() => new()
    {
        ["cores"] = Cores,
        ["memory"] = Memory,
        ["os"] = Os,
        ["dotnet"] = Dotnet,
        ["cpu"] = Cpu,
        ["loadAverageAtStart"] = LoadAverage,
    };

    public override string ToString() =>
        $"{Cores} cores ({Cpu}), {Memory} memory, {Os}, {Dotnet}, load average at start {LoadAverage}";
}

/// <summary>Facts about the whole run that every result file repeats.</summary>
internal sealed record RunInfo(bool Quick, DateTimeOffset Started, MachineInfo Machine);
