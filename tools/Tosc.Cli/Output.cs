using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Tosc.Cli.Graph;

namespace Tosc.Cli;

/// <summary>Text and JSON rendering shared by the commands.</summary>
internal static class Output
{
    /// <summary>A JSON object written by <paramref name="body"/>.</summary>
    public static string Json(Action<Utf8JsonWriter> body, bool indented = true)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, MaxDepth = GraphJson.JsonDepth }))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes a value's JSON form as a property.</summary>
    public static void WriteValue(Utf8JsonWriter writer, string name, GValue? value, bool allIds = false)
    {
        writer.WritePropertyName(name);
        if (value is null)
        {
            writer.WriteNullValue();
            return;
        }
        // Through a document rather than as raw text, so the value takes the writer's indentation.
        using var document = JsonDocument.Parse(GraphJson.Write(value, indented: false, allIds), new JsonDocumentOptions { MaxDepth = GraphJson.JsonDepth });
        document.RootElement.WriteTo(writer);
    }

    public static string Commit(Guid id) => id == Guid.Empty ? "-" : id.ToString("N")[..12];

    /// <summary>One change as a line: <c>Stock["apples"] = 4</c>, <c>Log[3] appended "x"</c>, <c>Visits += 1</c>.</summary>
    public static string Describe(GChange change)
    {
        var value = change.Value is null ? "" : Shorten(GraphJson.Write(change.Value, indented: false));
        var path = change.Path.Length == 0 ? "(root)" : change.Path;
        return change.Op switch
        {
            "set" => $"{path} = {value}",
            "insert" => $"{path} inserted {value}",
            "remove" => $"{path} removed",
            "add" => $"{path} added {value}",
            "content" => $"{path} replaced by {value}",
            "append" => $"{path} appended {value}",
            "increment" => $"{path} += {value}",
            "lease" => $"(lease for {value} ms)",
            _ => $"{path} {change.Op} {value}",
        };
    }

    public static void WriteChanges(Utf8JsonWriter writer, IEnumerable<GChange> changes)
    {
        writer.WriteStartArray("changes");
        foreach (var change in changes)
        {
            writer.WriteStartObject();
            writer.WriteString("path", change.Path);
            writer.WriteString("op", change.Op);
            if (change.Value is not null)
                WriteValue(writer, "value", change.Value);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    private static string Shorten(string text) => text.Length > 120 ? text[..117] + "..." : text;
}
