using System.Globalization;
using System.Text.RegularExpressions;
using EventGateway.Model;

namespace EventGateway.Workflows.Validation;

public sealed partial class WorkflowValidator
{
    private static readonly string[] GaugeOperations = ["Set", "Add", "Sub"];

    /// <summary>
    /// spec.metrics and templates[].metrics: Argo's checks (names and label keys of letters, digits and '_', a help
    /// string, a value) made at load, plus what Argo reports only when it emits (one kind per metric, realtime values
    /// that are a duration variable, numeric buckets), and one type and help per metric name across the workflow.
    /// </summary>
    private static void ValidateMetrics(WorkflowSpec spec, string at, Action<string, string> fail)
    {
        var seen = new Dictionary<string, (string? Type, string? Help, string At)>(StringComparer.Ordinal);
        ValidateMetricList(spec.Metrics, $"{at}.metrics", workflowLevel: true, seen, fail);
        ValidateMetricList(spec.TemplateDefaults?.Metrics, $"{at}.templateDefaults.metrics", workflowLevel: false, seen, fail);
        var templates = spec.Templates ?? [];
        for (var i = 0; i < templates.Count; i++)
            ValidateMetricList(templates[i].Metrics, $"{at}.templates[{i}].metrics", workflowLevel: false, seen, fail);
    }

    private static void ValidateMetricList(Metrics? metrics, string at, bool workflowLevel, Dictionary<string, (string? Type, string? Help, string At)> seen, Action<string, string> fail)
    {
        if (metrics is null) return;
        var list = metrics.Prometheus ?? [];
        if (list.Count == 0) fail($"{at}.prometheus", "missing: list the metrics to emit (or remove metrics)");
        for (var i = 0; i < list.Count; i++)
        {
            var m = list[i];
            var mat = $"{at}.prometheus[{i}]";
            if (m is null) { fail(mat, "is null: expected a metric with name, help and one of gauge, counter, histogram"); continue; }
            if (string.IsNullOrEmpty(m.Name)) fail($"{mat}.name", "missing: the metric's name");
            else if (!MetricName().IsMatch(m.Name)) fail($"{mat}.name", $"'{m.Name}' is not a valid metric name: letters, digits and '_', not starting with a digit");
            if (string.IsNullOrEmpty(m.Help)) fail($"{mat}.help", $"missing: metric '{m.Name}' needs a help string");
            for (var j = 0; j < (m.Labels?.Count ?? 0); j++)
            {
                var l = m.Labels![j];
                if (string.IsNullOrEmpty(l?.Key)) fail($"{mat}.labels[{j}].key", "missing: the label's key");
                else if (!MetricName().IsMatch(l.Key)) fail($"{mat}.labels[{j}].key", $"'{l.Key}' is not a valid label key: letters, digits and '_', not starting with a digit");
                if (l?.Value is null or "") fail($"{mat}.labels[{j}].value", $"missing: label '{l?.Key}' needs a value");
            }

            var kinds = new[] { ("gauge", m.Gauge is not null), ("counter", m.Counter is not null), ("histogram", m.Histogram is not null) }.Where(k => k.Item2).Select(k => k.Item1).ToList();
            if (kinds.Count == 0) { fail(mat, "missing: one of gauge, counter or histogram"); continue; }
            if (kinds.Count > 1) { fail(mat, $"one kind per metric, found {string.Join(" and ", kinds)}"); continue; }
            var kind = kinds[0];
            if (string.IsNullOrWhiteSpace(m.Value)) fail($"{mat}.{kind}.value", "missing: the value to record, e.g. \"1\" or \"{{duration}}\"");

            if (m.Gauge is { } g)
            {
                if (g.Operation is { Length: > 0 } op && !GaugeOperations.Contains(op))
                    fail($"{mat}.gauge.operation", $"'{op}' is not one of {string.Join(", ", GaugeOperations)}");
                if (g.Realtime == true && g.Value is { Length: > 0 } v)
                {
                    // A realtime gauge is read at every scrape: its value must be a duration that can be computed then.
                    var variable = v.StartsWith("{{", StringComparison.Ordinal) && v.EndsWith("}}", StringComparison.Ordinal) ? v[2..^2].Trim() : null;
                    var allowed = workflowLevel ? new[] { "workflow.duration" } : ["duration", "workflow.duration"];
                    if (variable is null || !allowed.Contains(variable))
                        fail($"{mat}.gauge.value", $"'{v}' cannot be a realtime value: use {string.Join(" or ", allowed.Select(a => "{{" + a + "}}"))}");
                    if (g.Operation is { Length: > 0 } rop && rop != "Set")
                        fail($"{mat}.gauge.operation", $"'{rop}' is not supported for a realtime gauge, which always shows the current duration");
                }
            }
            if (m.Histogram is { } h)
            {
                if (h.Buckets is not { Count: > 0 }) fail($"{mat}.histogram.buckets", "missing: the histogram's bucket upper bounds, e.g. [1, 5, 10]");
                else
                    for (var j = 0; j < h.Buckets.Count; j++)
                        if (!double.TryParse(h.Buckets[j], NumberStyles.Float, CultureInfo.InvariantCulture, out var b) || !double.IsFinite(b))
                            fail($"{mat}.histogram.buckets[{j}]", $"'{h.Buckets[j]}' is not a number");
            }

            if (string.IsNullOrEmpty(m.Name)) continue;
            if (seen.TryGetValue(m.Name, out var first))
            {
                if (first.Type != kind) fail($"{mat}.{kind}", $"metric '{m.Name}' is a {first.Type} at {first.At}; one name has one type");
                else if (first.Help != m.Help) fail($"{mat}.help", $"metric '{m.Name}' has a different help at {first.At}; one name has one help");
            }
            else seen[m.Name] = (kind, m.Help, mat);
        }
    }

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex MetricName();
}
