using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace EventGateway.Cli.Output;

/// <summary>Sensors and dead letters on a terminal: plain columns like `argo list`, details like `argo get`.</summary>
internal static class SensorPrinter
{
    /// <summary>The per-trigger outcomes worth a column; passed and filtered belong to the dependency stage.</summary>
    private static readonly string[] TriggerOutcomes = ["waiting", "duplicate", "rate-limited", "triggered", "failed", "dead-lettered"];

    public static string SensorTable(JsonObject list, DateTimeOffset now)
    {
        var rows = new List<string[]>
        {
            new[] { "NAMESPACE", "NAME", "STATUS", "DEPENDENCIES", "TRIGGERS", "TRIGGERED", "FILTERED", "DUPLICATE", "FAILED", "LAST EVENT" },
        };
        foreach (var s in list["items"] as JsonArray ?? [])
        {
            var status = s!["status"];
            var triggers = status?["triggers"] as JsonArray ?? [];
            rows.Add([
                Str(s["metadata"]?["namespace"]) ?? "default", Str(s["metadata"]?["name"]) ?? "", Str(status?["phase"]) ?? "",
                string.Join(",", (s["spec"]?["dependencies"] as JsonArray ?? []).Select(d => Str(d!["name"]))),
                string.Join(",", triggers.Select(t => $"{Str(t!["name"])}({Str(t["kind"])})")),
                Sum(triggers, "triggered"), Count(status?["dependencies"], "filtered"), Sum(triggers, "duplicate"), Sum(triggers, "failed"),
                Ago(status?["lastEventAt"], now),
            ]);
        }
        return rows.Count > 1 ? WorkflowPrinter.Columns(rows) : "no sensors\n";
    }

    public static string SensorDetail(JsonObject s, DateTimeOffset now)
    {
        var status = s["status"];
        var sb = new StringBuilder();
        void Line(string k, string? v) { if (!string.IsNullOrEmpty(v)) sb.Append(CultureInfo.InvariantCulture, $"{k + ":",-14} {v}\n"); }
        Line("Name", Str(s["metadata"]?["name"]));
        Line("Namespace", Str(s["metadata"]?["namespace"]) ?? "default");
        Line("Status", Str(status?["phase"]));
        Line("Message", EventPrinter.OneLine(Str(status?["message"])));
        Line("Checkpoint", status?["checkpoint"] is { } cp ? $"event {cp}" : "none yet");
        Line("Last event", Ago(status?["lastEventAt"], now));
        Line("Restarts", status?["restarts"]?.ToString());
        Line("Created", EventPrinter.Age(s["metadata"]?["creationTimestamp"], now) is { Length: > 0 } age ? age + " ago" : null);
        Line("Events", $"{Count(status?["dependencies"], "passed")} passed, {Count(status?["dependencies"], "filtered")} filtered");

        var deps = new List<string[]> { new[] { "DEPENDENCY", "EVENT SOURCE", "EVENT" } };
        foreach (var d in s["spec"]?["dependencies"] as JsonArray ?? [])
            deps.Add([Str(d!["name"]) ?? "", Str(d["eventSourceName"]) ?? "", Str(d["eventName"]) ?? ""]);
        if (deps.Count > 1) sb.Append('\n').Append(WorkflowPrinter.Columns(deps));

        var triggers = new List<string[]> { new[] { "TRIGGER", "KIND" }.Concat(TriggerOutcomes.Select(o => o.ToUpperInvariant())).ToArray() };
        foreach (var t in status?["triggers"] as JsonArray ?? [])
            triggers.Add([Str(t!["name"]) ?? "", Str(t["kind"]) ?? "", .. TriggerOutcomes.Select(o => Count(t["counts"], o))]);
        if (triggers.Count > 1) sb.Append('\n').Append(WorkflowPrinter.Columns(triggers));
        return sb.ToString();
    }

    public static string DeadLetterTable(JsonObject list, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "ID", "SENSOR", "TRIGGER", "EVENTS", "AGE", "REPLAYED", "ERROR" } };
        foreach (var d in list["items"] as JsonArray ?? [])
            rows.Add([
                d!["id"]?.ToString() ?? "", Str(d["sensor"]) ?? "", Str(d["trigger"]) ?? "",
                string.Join(",", (d["sequences"] as JsonArray ?? []).Select(q => "#" + q)),
                EventPrinter.Age(d["time"], now), Str(d["replayOutcome"]) is { Length: > 0 } r ? EventPrinter.OneLine(r) : "", EventPrinter.OneLine(Str(d["error"])),
            ]);
        return rows.Count > 1 ? WorkflowPrinter.Columns(rows) : "no dead letters\n";
    }

    public static string Replay(JsonObject r) =>
        $"dead letter {r["id"]} ({Str(r["sensor"])} trigger {Str(r["trigger"])}): {Str(r["outcome"])}: {EventPrinter.OneLine(Str(r["detail"]))}\n";

    private static string Sum(JsonArray triggers, string outcome) =>
        triggers.Sum(t => t?["counts"]?[outcome]?.GetValue<long>() ?? 0).ToString(CultureInfo.InvariantCulture);

    private static string Count(JsonNode? counts, string outcome) => (counts?[outcome]?.GetValue<long>() ?? 0).ToString(CultureInfo.InvariantCulture);

    private static string Ago(JsonNode? at, DateTimeOffset now) => EventPrinter.Age(at, now) is { Length: > 0 } age ? age + " ago" : "";

    private static string? Str(JsonNode? n) => EventPrinter.Str(n);
}
