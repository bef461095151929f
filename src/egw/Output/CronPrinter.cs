using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Schedules;

namespace EventGateway.Cli.Output;

/// <summary>CronWorkflows and WorkflowTemplates on a terminal, as `argo cron list|get` and `argo template list|get` show them.</summary>
internal static class CronPrinter
{
    public static string CronTable(JsonObject list, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "NAME", "AGE", "LAST RUN", "NEXT RUN", "SCHEDULES", "TIMEZONE", "SUSPENDED", "ACTIVE" } };
        foreach (var item in list["items"] as JsonArray ?? [])
        {
            var c = item.Deserialize<CronWorkflow>(Json.Lenient)!;
            rows.Add([
                c.Name, Age(c.Metadata.CreationTimestamp, now), Ago(c.Status?.LastScheduledTime, now), In(NextRun(c, now), now),
                string.Join(",", CronSchedule.Entries(c.Spec).Select(e => e.Cron)), c.Spec.Timezone ?? "", (c.Spec.Suspend == true).ToString().ToLowerInvariant(),
                (c.Status?.Active?.Count ?? 0).ToString(CultureInfo.InvariantCulture),
            ]);
        }
        return rows.Count > 1 ? WorkflowPrinter.Columns(rows) : "no cron workflows\n";
    }

    public static string CronDetail(JsonObject item, DateTimeOffset now)
    {
        var c = item.Deserialize<CronWorkflow>(Json.Lenient)!;
        var sb = new StringBuilder();
        void Line(string k, string? v) { if (!string.IsNullOrEmpty(v)) sb.Append(CultureInfo.InvariantCulture, $"{k + ":",-30} {v}\n"); }
        Line("Name", c.Name);
        Line("Namespace", c.NamespaceOrDefault);
        Line("Created", Ago(c.Metadata.CreationTimestamp, now));
        Line("Schedules", string.Join(", ", CronSchedule.Entries(c.Spec).Select(e => e.Cron)));
        Line("Timezone", c.Spec.Timezone ?? $"{TimeZoneInfo.Local.Id} (this machine's)");
        Line("Suspended", (c.Spec.Suspend == true).ToString().ToLowerInvariant());
        Line("ConcurrencyPolicy", c.Spec.ConcurrencyPolicy ?? "Allow");
        Line("StartingDeadlineSeconds", c.Spec.StartingDeadlineSeconds?.ToString(CultureInfo.InvariantCulture));
        Line("LastScheduledTime", Stamp(c.Status?.LastScheduledTime, now));
        Line("NextScheduledTime", NextRun(c, now) is { } next ? $"{next:yyyy-MM-ddTHH:mm:ssK} (in {WorkflowPrinter.Human(next - now)})" : null);
        Line("LastSkippedTime", Stamp(c.Status?.LastSkippedTime, now));
        Line("Active Workflows", string.Join(", ", (c.Status?.Active ?? []).Select(a => a?["name"]?.GetValue<string>())));
        Line("Succeeded", (c.Status?.Succeeded ?? 0).ToString(CultureInfo.InvariantCulture));
        Line("Failed", (c.Status?.Failed ?? 0).ToString(CultureInfo.InvariantCulture));
        foreach (var condition in c.Status?.Conditions ?? []) Line($"Condition {condition.Type}", condition.Message);
        return sb.ToString();
    }

    public static string TemplateTable(JsonObject list, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "NAME", "AGE", "ENTRYPOINT", "TEMPLATES" } };
        foreach (var item in list["items"] as JsonArray ?? [])
        {
            var spec = item!["spec"].Deserialize<WorkflowSpec>(Json.Lenient) ?? new WorkflowSpec();
            rows.Add([EventPrinter.Str(item["metadata"]?["name"]) ?? "", EventPrinter.Age(item["metadata"]?["creationTimestamp"], now), spec.Entrypoint ?? "",
                string.Join(",", (spec.Templates ?? []).Select(t => t.Name))]);
        }
        return rows.Count > 1 ? WorkflowPrinter.Columns(rows) : "no workflow templates\n";
    }

    public static string TemplateDetail(JsonObject item, DateTimeOffset now)
    {
        var spec = item["spec"].Deserialize<WorkflowSpec>(Json.Lenient) ?? new WorkflowSpec();
        var sb = new StringBuilder();
        void Line(string k, string? v) { if (!string.IsNullOrEmpty(v)) sb.Append(CultureInfo.InvariantCulture, $"{k + ":",-14} {v}\n"); }
        Line("Name", EventPrinter.Str(item["metadata"]?["name"]));
        Line("Namespace", EventPrinter.Str(item["metadata"]?["namespace"]));
        Line("Created", EventPrinter.Age(item["metadata"]?["creationTimestamp"], now) is { Length: > 0 } age ? age + " ago" : null);
        Line("Entrypoint", spec.Entrypoint);
        Line("Templates", string.Join(", ", (spec.Templates ?? []).Select(t => t.Name)));
        Line("Arguments", string.Join(", ", (spec.Arguments?.Parameters ?? []).Select(p => p.Value is null ? p.Name : $"{p.Name}={p.Value}")));
        return sb.ToString();
    }

    /// <summary>The next tick, as the scheduler will compute it (an unset timezone is this machine's, like the server's).</summary>
    private static DateTimeOffset? NextRun(CronWorkflow c, DateTimeOffset now)
    {
        if (c.Spec.Suspend == true) return null;
        try { return CronSchedule.TryParse(c.Spec, TimeZoneInfo.Local, (_, _) => { })?.Next(now); }
        catch (InvalidOperationException) { return null; }
    }

    private static string Age(DateTimeOffset? at, DateTimeOffset now) => at is { } t ? WorkflowPrinter.Human(now - t) : "";
    private static string Ago(DateTimeOffset? at, DateTimeOffset now) => at is { } t ? WorkflowPrinter.Human(now - t) + " ago" : "N/A";
    private static string In(DateTimeOffset? at, DateTimeOffset now) => at is { } t ? "in " + WorkflowPrinter.Human(t - now) : "N/A";
    private static string? Stamp(DateTimeOffset? at, DateTimeOffset now) => at is { } t ? $"{t:yyyy-MM-ddTHH:mm:ssK} ({WorkflowPrinter.Human(now - t)} ago)" : null;
}
