using System.Globalization;
using EventGateway.Languages.Govaluate;
using EventGateway.Languages.Tags;
using EventGateway.Model;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Submission;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace EventGateway.Workflows.Telemetry;

/// <summary>
/// Argo's custom metrics (workflow <c>spec.metrics</c> and template <c>metrics</c>), recorded on the host's Prometheus
/// registry as <c>argo_workflows_NAME</c>. It watches saved statuses, outside the controller's pass: a template's metrics are
/// recorded once when its node completes (each retry attempt counts: earlier attempts as themselves, the last as the
/// retry node, as Argo does), the workflow's when it completes, and a realtime gauge follows <c>{{duration}}</c> or
/// <c>{{workflow.duration}}</c> from the node's or workflow's start (set from the clock before each scrape) and keeps its
/// final value. A value, label or <c>when</c> that cannot be rendered is not recorded and is counted and logged (Argo sets
/// a MetricsError condition).
/// </summary>
public sealed class CustomMetrics : IWorkflowObserver
{
    public const string Prefix = "argo_workflows_";

    /// <summary>Series kept at most; a definition whose labels would make more is refused (cardinality is the user's to bound).</summary>
    public const int MaxSeries = 10_000;

    private readonly TimeProvider time;
    private readonly ILogger<CustomMetrics> logger;
    private readonly IMetricFactory _factory;
    private readonly Counter _errors;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Family> _families = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WorkflowMarks> _workflows = new(StringComparer.Ordinal);
    private readonly List<(Gauge.Child Gauge, RealtimeClock Clock)> _realtime = [];
    private readonly DateTimeOffset _since;
    private int _series;

    public CustomMetrics(TimeProvider time, ILogger<CustomMetrics> logger, CollectorRegistry? registry = null)
    {
        this.time = time;
        this.logger = logger;
        registry ??= Prometheus.Metrics.NewCustomRegistry();
        _factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _errors = _factory.CreateCounter("eventgateway_custom_metric_errors_total", "Custom metric definitions that could not be recorded (see the service log for why).");
        _since = time.GetUtcNow();
        registry.AddBeforeCollectCallback(Refresh);
    }

    /// <summary>Definitions that could not be recorded (rendering, <c>when</c>, value, conflicting type, help or labels, the series cap).</summary>
    public long Errors => (long)_errors.Value;

    void IWorkflowObserver.StatusSaved(Workflow workflow) => Observe(workflow, completed: false);

    void IWorkflowObserver.Completed(Workflow workflow) => Observe(workflow, completed: true);

    /// <summary>Realtime gauges read the clock just before a scrape; those whose node or workflow ended keep their final value.</summary>
    private void Refresh()
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            foreach (var (gauge, clock) in _realtime) gauge.Set(clock.Read(now));
            _realtime.RemoveAll(r => r.Clock.End is not null);
        }
    }
    private void Observe(Workflow wf, bool completed)
    {
        if (wf.Status is not { } status) return;
        var spec = status.StoredWorkflowTemplateSpec ?? wf.Spec;
        var key = wf.Metadata.Uid ?? $"{wf.NamespaceOrDefault}/{wf.Name}";
        var nodes = status.Nodes ?? [];
        if (spec.Metrics is null && !nodes.Values.Any(n => TemplateOf(wf, spec, n)?.Metrics is not null)) return;

        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!_workflows.TryGetValue(key, out var marks))
            {
                marks = _workflows[key] = new WorkflowMarks();
                // Started before this service: what completed then was recorded by the service that ran it.
                if (status.StartedAt is { } started && started < _since)
                    foreach (var n in nodes.Values.Where(n => n.Fulfilled)) marks.Recorded.Add(n.Id);
            }
            var globals = Globals(wf, status, now);
            var parents = RetryParents(nodes);

            if (!marks.RealtimeStarted && spec.Metrics is { } wfMetrics && status.StartedAt is { } wfStart)
            {
                marks.RealtimeStarted = true;
                foreach (var m in wfMetrics.Prometheus ?? []) if (m.IsRealtime) StartRealtime(wf, m, globals, marks, "", wfStart);
            }

            foreach (var node in nodes.Values)
            {
                if (TemplateOf(wf, spec, node)?.Metrics is not { } metrics || node.Type is NodeType.StepGroup or NodeType.TaskGroup) continue;
                var scope = NodeScope(globals, node, nodes, now);
                if (node.StartedAt is { } nodeStart && marks.RealtimeNodes.Add(node.Id))
                    foreach (var m in metrics.Prometheus ?? []) if (m.IsRealtime) StartRealtime(wf, m, scope, marks, node.Id, nodeStart);
                if (!node.Fulfilled || marks.Recorded.Contains(node.Id)) continue;
                // A retry's last attempt is recorded as the retry node, so each attempt counts once.
                if (parents.TryGetValue(node.Id, out var parent) && parent.Children![^1] == node.Id) continue;
                marks.Recorded.Add(node.Id);
                EndRealtime(marks, node.Id, node.FinishedAt ?? now);
                foreach (var m in metrics.Prometheus ?? []) if (!m.IsRealtime) Record(wf, m, scope);
            }

            if (!completed) return;
            EndRealtime(marks, "", status.FinishedAt ?? now);
            var root = nodes.GetValueOrDefault(wf.Name) ?? nodes.Values.FirstOrDefault(n => n.BoundaryID is null);
            var wfScope = root is null ? globals : NodeScope(globals, root, nodes, now);
            wfScope["status"] = status.Phase ?? "";
            foreach (var m in spec.Metrics?.Prometheus ?? []) if (!m.IsRealtime) Record(wf, m, wfScope);
            _workflows.Remove(key);
        }
    }

    private static Template? TemplateOf(Workflow wf, WorkflowSpec spec, NodeStatus node)
    {
        if (node.TemplateRef is { } tr) return wf.Status?.StoredTemplates?.GetValueOrDefault(TemplateRefs.Key(tr, wf.NamespaceOrDefault));
        return node.TemplateName is { } name ? spec.Templates?.FirstOrDefault(t => t.Name == name) : null;
    }

    /// <summary>Each retry attempt's node id, with the Retry node it belongs to.</summary>
    private static Dictionary<string, NodeStatus> RetryParents(Dictionary<string, NodeStatus> nodes)
    {
        var parents = new Dictionary<string, NodeStatus>(StringComparer.Ordinal);
        foreach (var n in nodes.Values.Where(n => n.Type == NodeType.Retry))
            foreach (var child in n.Children ?? []) parents[child] = n;
        return parents;
    }

    private static Dictionary<string, string> Globals(Workflow wf, WorkflowStatus status, DateTimeOffset now)
    {
        var g = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["workflow.name"] = wf.Name,
            ["workflow.namespace"] = wf.NamespaceOrDefault,
            ["workflow.uid"] = wf.Metadata.Uid ?? "",
            ["workflow.status"] = status.Phase ?? "",
            ["workflow.duration"] = Seconds((status.FinishedAt ?? now) - (status.StartedAt ?? now)),
            ["duration"] = "0",
            ["status"] = NodePhase.Pending,
        };
        foreach (var p in (status.StoredWorkflowTemplateSpec ?? wf.Spec).Arguments?.Parameters ?? []) g[$"workflow.parameters.{p.Name}"] = p.Value ?? "";
        foreach (var p in wf.Spec.Arguments?.Parameters ?? []) g[$"workflow.parameters.{p.Name}"] = p.Value ?? "";
        foreach (var (k, v) in wf.Metadata.Labels ?? []) g[$"workflow.labels.{k}"] = v;
        foreach (var (k, v) in wf.Metadata.Annotations ?? []) g[$"workflow.annotations.{k}"] = v;
        foreach (var p in status.Outputs?.Parameters ?? []) g[$"workflow.outputs.parameters.{p.Name}"] = p.Value ?? "";
        return g;
    }

    /// <summary>Argo's metric scope of a node: duration, status, retries, its inputs and outputs.</summary>
    private static Dictionary<string, string> NodeScope(Dictionary<string, string> globals, NodeStatus node, Dictionary<string, NodeStatus> nodes, DateTimeOffset now)
    {
        var s = new Dictionary<string, string>(globals, StringComparer.Ordinal)
        {
            ["duration"] = Seconds((node.FinishedAt ?? now) - (node.StartedAt ?? now)),
            ["status"] = node.Phase,
        };
        if (node.Children is { Count: > 0 } children) s["retries"] = (children.Count - 1).ToString(CultureInfo.InvariantCulture);
        foreach (var p in node.Inputs?.Parameters ?? []) s[$"inputs.parameters.{p.Name}"] = p.Value ?? "";
        // A retry node reports its last attempt's outputs, as Argo copies them onto it.
        var outputs = node.Outputs ?? (node.Type == NodeType.Retry && node.Children is { Count: > 0 } c ? nodes.GetValueOrDefault(c[^1])?.Outputs : null);
        if (outputs?.Result is { } result) s["outputs.result"] = result;
        if (outputs?.ExitCode is { } exitCode) s["exitCode"] = exitCode;
        foreach (var p in outputs?.Parameters ?? []) s[$"outputs.parameters.{p.Name}"] = p.Value ?? "";
        return s;
    }

    private static string Seconds(TimeSpan t) => Math.Max(0, t.TotalSeconds).ToString("0.######", CultureInfo.InvariantCulture);

    private static string Render(string text, Dictionary<string, string> scope)
    {
        var rendered = TagSubstitution.Render(text, n => scope.GetValueOrDefault(n), () => scope.ToDictionary(kv => kv.Key, kv => (object?)kv.Value), strict: false);
        if (rendered.Contains("{{", StringComparison.Ordinal)) throw new FormatException($"'{text}' has a variable without a value here");
        return rendered;
    }

    /// <summary>Name, help and labels rendered, and whether <c>when</c> holds; null (after counting the error) when it cannot be.</summary>
    private (string Name, string Help, (string, string)[] Labels)? Describe(Workflow wf, PrometheusMetric m, Dictionary<string, string> scope)
    {
        try
        {
            if (m.When is { Length: > 0 } when && !WhenCondition.Evaluate(Render(when, scope))) return null;
            var labels = (m.Labels ?? []).Select(l => (l.Key!, Render(l.Value ?? "", scope))).OrderBy(l => l.Item1, StringComparer.Ordinal).ToArray();
            return (Render(m.Name!, scope), Render(m.Help!, scope), labels);
        }
        catch (Exception e) when (e is FormatException or Languages.Expr.ExpressionException or Languages.Expr.UnresolvedVariableException)
        {
            Fail(wf, m, e.Message);
            return null;
        }
    }

    private void Record(Workflow wf, PrometheusMetric m, Dictionary<string, string> scope)
    {
        if (Describe(wf, m, scope) is not { } d) return;
        double value;
        try
        {
            var text = Render(m.Value ?? "", scope);
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
            {
                Fail(wf, m, $"value '{text}' is not a number");
                return;
            }
        }
        catch (Exception e) when (e is FormatException or Languages.Expr.ExpressionException)
        {
            Fail(wf, m, e.Message);
            return;
        }
        if (SeriesFor(wf, m, d) is not { } series) return;
        switch (series)
        {
            case Counter.Child counter when value >= 0: counter.Inc(value); break;
            case Counter.Child: Fail(wf, m, $"counter value {value} is negative: a counter only goes up"); break;
            case Histogram.Child histogram: histogram.Observe(value); break;
            case Gauge.Child gauge:
                _realtime.RemoveAll(r => r.Gauge == gauge);
                switch (m.Gauge!.Operation)
                {
                    case "Add": gauge.Inc(value); break;
                    case "Sub": gauge.Dec(value); break;
                    default: gauge.Set(value); break;
                }
                break;
        }
    }

    private void StartRealtime(Workflow wf, PrometheusMetric m, Dictionary<string, string> scope, WorkflowMarks marks, string owner, DateTimeOffset start)
    {
        if (Describe(wf, m, scope) is not { } d || SeriesFor(wf, m, d) is not Gauge.Child series) return;
        var variable = m.Gauge!.Value!.Trim()[2..^2].Trim();
        // {{workflow.duration}} in a template still follows the workflow; {{duration}} follows the node.
        var clock = new RealtimeClock(variable == "workflow.duration" ? (wf.Status?.StartedAt ?? start) : start);
        _realtime.RemoveAll(r => r.Gauge == series);
        _realtime.Add((series, clock));
        series.Set(clock.Read(time.GetUtcNow()));
        marks.Clocks.Add((variable == "workflow.duration" ? "" : owner, clock));
    }

    /// <summary>Stops the realtime gauges of a node (or, for "", the workflow's) at <paramref name="end"/>; they keep that value.</summary>
    private static void EndRealtime(WorkflowMarks marks, string owner, DateTimeOffset end)
    {
        foreach (var (o, clock) in marks.Clocks) if (o == owner) clock.End ??= end;
    }

    /// <summary>The library's child for these labels; null (after counting why) when the name is taken by another type, help or label set, or the cap is hit.</summary>
    private ChildBase? SeriesFor(Workflow wf, PrometheusMetric m, (string Name, string Help, (string, string)[] Labels) d)
    {
        var labelNames = d.Labels.Select(l => l.Item1).ToArray();
        if (!_families.TryGetValue(d.Name, out var family))
        {
            var full = Prefix + d.Name;
            try
            {
                Collector collector = m.Type switch
                {
                    "counter" => _factory.CreateCounter(full, d.Help, labelNames),
                    "histogram" => _factory.CreateHistogram(full, d.Help, new HistogramConfiguration
                    {
                        LabelNames = labelNames,
                        Buckets = m.Histogram!.Buckets!.Select(b => double.Parse(b, NumberStyles.Float, CultureInfo.InvariantCulture)).Order().Distinct().ToArray(),
                    }),
                    _ => _factory.CreateGauge(full, d.Help, labelNames),
                };
                family = _families[d.Name] = new Family(m.Type!, d.Help, labelNames, collector);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                // The registry already holds the name (a service metric such as argo_workflows_gauge) in another shape.
                Fail(wf, m, $"metric '{full}' cannot be registered: {e.Message}");
                return null;
            }
        }
        else if (family.Type != m.Type) { Fail(wf, m, $"metric '{d.Name}' is already a {family.Type}; one name has one type"); return null; }
        else if (family.Help != d.Help) { Fail(wf, m, $"help for metric '{d.Name}' is already set to '{family.Help}'; it cannot be changed"); return null; }
        else if (!family.LabelNames.SequenceEqual(labelNames))
        {
            Fail(wf, m, $"metric '{d.Name}' has labels [{string.Join(", ", family.LabelNames)}]; one name has one set of label keys");
            return null;
        }

        var key = string.Join(",", d.Labels.Select(l => l.Item2));
        if (!family.Series.Contains(key))
        {
            if (_series >= MaxSeries) { Fail(wf, m, $"more than {MaxSeries} custom metric series; labels with unbounded values make a series each"); return null; }
            _series++;
            family.Series.Add(key);
        }
        var values = d.Labels.Select(l => l.Item2).ToArray();
        return family.Collector switch
        {
            Counter c => c.WithLabels(values),
            Histogram h => h.WithLabels(values),
            Gauge g => g.WithLabels(values),
            _ => null,
        };
    }

    private void Fail(Workflow wf, PrometheusMetric m, string why)
    {
        _errors.Inc();
        logger.LogWarning("workflow {Namespace}/{Workflow}: metric '{Metric}' not recorded: {Reason}", wf.NamespaceOrDefault, wf.Name, m.Name, why);
    }

    private sealed class WorkflowMarks
    {
        public HashSet<string> Recorded { get; } = new(StringComparer.Ordinal);
        public HashSet<string> RealtimeNodes { get; } = new(StringComparer.Ordinal);
        public List<(string Owner, RealtimeClock Clock)> Clocks { get; } = [];
        public bool RealtimeStarted { get; set; }
    }

    private sealed class RealtimeClock(DateTimeOffset start)
    {
        public DateTimeOffset? End { get; set; }
        public double Read(DateTimeOffset now) => Math.Max(0, ((End ?? now) - start).TotalSeconds);
    }

    private sealed record Family(string Type, string Help, string[] LabelNames, Collector Collector)
    {
        public HashSet<string> Series { get; } = new(StringComparer.Ordinal);
    }
}
