using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventGateway.Cli.Output;

/// <summary>Event sources and events on a terminal: plain columns like `argo list`, details like `argo get`.</summary>
internal static class EventPrinter
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Pretty(JsonNode? node) => (node?.ToJsonString(Indented) ?? "null") + "\n";

    public static string SourceTable(JsonObject list, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "NAMESPACE", "NAME", "EVENTS", "STATUS", "ACCEPTED", "REJECTED", "AGE" } };
        foreach (var es in list["items"] as JsonArray ?? [])
        {
            var listeners = es!["status"]?["listeners"] as JsonArray ?? [];
            rows.Add([
                Str(es["metadata"]?["namespace"]) ?? "default", Str(es["metadata"]?["name"]) ?? "",
                string.Join(",", listeners.Select(l => $"{Str(l!["type"])}/{Str(l["event"])}")),
                Str(es["status"]?["phase"]) ?? "",
                listeners.Sum(l => l!["accepted"]?.GetValue<long>() ?? 0).ToString(CultureInfo.InvariantCulture),
                listeners.Sum(l => (l!["rejected"] as JsonObject ?? []).Sum(kv => kv.Value?.GetValue<long>() ?? 0)).ToString(CultureInfo.InvariantCulture),
                Age(es["metadata"]?["creationTimestamp"], now),
            ]);
        }
        return WorkflowPrinter.Columns(rows);
    }

    public static string SourceDetail(JsonObject es, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        void Line(string k, string? v) { if (!string.IsNullOrEmpty(v)) sb.Append(CultureInfo.InvariantCulture, $"{k + ":",-12} {v}\n"); }
        Line("Name", Str(es["metadata"]?["name"]));
        Line("Namespace", Str(es["metadata"]?["namespace"]) ?? "default");
        Line("Status", Str(es["status"]?["phase"]));
        Line("Message", Str(es["status"]?["message"]));
        Line("Created", Age(es["metadata"]?["creationTimestamp"], now) + " ago");
        var rows = new List<string[]> { new[] { "EVENT", "TYPE", "STATE", "TARGET", "ACCEPTED", "REJECTED", "LAST EVENT", "MESSAGE" } };
        foreach (var l in es["status"]?["listeners"] as JsonArray ?? [])
        {
            var rejected = (l!["rejected"] as JsonObject ?? []).Select(kv => $"{kv.Key}:{kv.Value}");
            rows.Add([Str(l["event"]) ?? "", Str(l["type"]) ?? "", Str(l["state"]) ?? "", Str(l["target"]) ?? "",
                l["accepted"]?.ToString() ?? "0", string.Join(" ", rejected), l["lastEventAt"] is { } at ? Age(at, now) + " ago" : "", Str(l["message"]) ?? ""]);
        }
        if (rows.Count > 1) sb.Append('\n').Append(WorkflowPrinter.Columns(rows));
        return sb.ToString();
    }

    public static string EventTable(JsonObject page, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "SEQ", "ID", "SOURCE", "EVENT", "TYPE", "AGE", "SIZE", "OUTCOME" } };
        foreach (var e in page["items"] as JsonArray ?? [])
            rows.Add([e!["sequence"]!.ToString(), Str(e["id"]) ?? "", $"{Str(e["namespace"])}/{Str(e["source"])}", Str(e["subject"]) ?? "", Str(e["type"]) ?? "",
                Age(e["received"], now), e["size"]?.ToString() ?? "", Outcome(e)]);
        var sb = new StringBuilder(rows.Count > 1 ? WorkflowPrinter.Columns(rows) : "no events\n");
        if (page["log"] is JsonObject log)
            sb.Append(CultureInfo.InvariantCulture, $"\nlog: {log["count"]} events (sequence {log["firstSequence"]}..{log["lastSequence"]}), retention {Str(log["retention"]?["maxAge"])} or {log["retention"]?["maxEvents"]} events\n");
        return sb.ToString();
    }

    public static string EventDetail(JsonObject e)
    {
        var sb = new StringBuilder();
        foreach (var k in new[] { "sequence", "id", "namespace", "source", "subject", "type", "specversion", "datacontenttype", "time", "received" })
            sb.Append(CultureInfo.InvariantCulture, $"{k + ":",-17} {e[k]}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"outcome:",-17} {Outcome(e)}\n");
        sb.Append("data:\n").Append(e["data"]?.ToJsonString(Indented)).Append('\n');
        sb.Append('\n').Append(PathTable(e["path"] as JsonArray ?? []));
        return sb.ToString();
    }

    /// <summary>Every step the sensors recorded for the event, in order; the dependency stage shows as "-".</summary>
    public static string PathTable(JsonArray path)
    {
        if (path.Count == 0) return "path: no sensor has decided anything about this event\n";
        var rows = new List<string[]> { new[] { "SENSOR", "TRIGGER", "OUTCOME", "REASON", "TIME" } };
        foreach (var d in path)
            rows.Add([Str(d!["sensor"]) ?? "", Str(d["trigger"]) is { Length: > 0 } t ? t : "-", Str(d["outcome"]) ?? "", OneLine(Str(d["reason"])), Instant(d["time"])]);
        return WorkflowPrinter.Columns(rows);
    }

    /// <summary>The sensors' summary of what happened to the event; "logged" when none decided anything.</summary>
    private static string Outcome(JsonNode e) => Str(e["outcome"]) is { Length: > 0 } o ? o : "logged";

    /// <summary>A recorded time in UTC to the millisecond: steps of one pass often share it.</summary>
    private static string Instant(JsonNode? at) =>
        Str(at) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : Str(at) ?? "";

    internal static string OneLine(string? s) => (s ?? "").ReplaceLineEndings(" ");

    internal static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToString();

    internal static string Age(JsonNode? at, DateTimeOffset now) =>
        Str(at) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? WorkflowPrinter.Human(now - t) : "";
}
