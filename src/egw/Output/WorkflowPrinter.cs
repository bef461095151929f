using System.Globalization;
using System.Text;
using System.Text.Json;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Controls;

namespace EventGateway.Cli.Output;

/// <summary>How workflows look on a terminal (argo get / argo list style) and as JSON for machines.</summary>
internal static class WorkflowPrinter
{
    /// <summary>A list command's output: always a list, as `argo list -o json` prints, whatever the count.</summary>
    public static string ToJson(IReadOnlyList<Workflow> wfs) => JsonSerializer.Serialize(wfs, PrettyJson);

    /// <summary>One workflow (get), as an object.</summary>
    public static string ToJson(Workflow wf) => JsonSerializer.Serialize(wf, PrettyJson);

    /// <summary>What submit, run and the controls made or changed: the workflow itself for one, as argo prints it; a list for several.</summary>
    public static string ResultsToJson(IReadOnlyList<Workflow> wfs) => wfs.Count == 1 ? ToJson(wfs[0]) : ToJson(wfs);

    private static readonly JsonSerializerOptions PrettyJson = new(Json.Options) { WriteIndented = true };

    public static string Table(IEnumerable<Workflow> wfs, DateTimeOffset now, bool withNamespace = false)
    {
        string[] head = ["NAME", "STATUS", "AGE", "DURATION", "PROGRESS", "MESSAGE"];
        var rows = new List<string[]> { withNamespace ? ["NAMESPACE", .. head] : head };
        foreach (var w in wfs.OrderByDescending(w => w.Metadata.CreationTimestamp))
        {
            string[] row = [w.Name, Status(w), Human(now - (w.Metadata.CreationTimestamp ?? now)), Duration(w.Status?.StartedAt, w.Status?.FinishedAt, now), w.Status?.Progress ?? "", w.Status?.Message ?? ""];
            rows.Add(withNamespace ? [w.NamespaceOrDefault, .. row] : row);
        }
        return Columns(rows);
    }

    public static string Summary(Workflow wf, DateTimeOffset now)
    {
        var s = wf.Status;
        var sb = new StringBuilder();
        void Line(string k, string? v) { if (!string.IsNullOrEmpty(v)) sb.Append(CultureInfo.InvariantCulture, $"{k + ":",-20} {v}\n"); }
        Line("Name", wf.Name);
        Line("Namespace", wf.NamespaceOrDefault);
        Line("Status", Status(wf));
        Line("Message", s?.Message);
        Line("Created", wf.Metadata.CreationTimestamp?.ToString("u", CultureInfo.InvariantCulture));
        Line("Started", s?.StartedAt?.ToString("u", CultureInfo.InvariantCulture));
        Line("Finished", s?.FinishedAt?.ToString("u", CultureInfo.InvariantCulture));
        Line("Duration", s?.StartedAt is null ? null : Duration(s.StartedAt, s.FinishedAt, now));
        Line("Progress", s?.Progress);
        Line("Holding", Locks(s?.Synchronization, waiting: false));
        Line("Waiting for", Locks(s?.Synchronization, waiting: true));
        var ps = (s?.StoredWorkflowTemplateSpec ?? wf.Spec).Arguments?.Parameters;
        if (ps is { Count: > 0 })
        {
            sb.Append("Parameters:\n");
            foreach (var p in ps) sb.Append(CultureInfo.InvariantCulture, $"  {p.Name}: {p.Value}\n");
        }
        if (s?.Nodes is { Count: > 0 }) sb.Append('\n').Append(Tree(wf, now));
        return sb.ToString();
    }

    /// <summary>The locks a workflow holds or waits for; a waited-for lock says who holds it now.</summary>
    private static string Locks(SynchronizationStatus? sync, bool waiting)
    {
        var mutexes = (waiting ? sync?.Mutex?.Waiting : sync?.Mutex?.Holding) ?? [];
        var semaphores = (waiting ? sync?.Semaphore?.Waiting : sync?.Semaphore?.Holding) ?? [];
        string HeldBy(IEnumerable<string?> holders) =>
            waiting ? $" (held by {string.Join(", ", holders.Where(h => h is not null).DefaultIfEmpty("nobody"))})" : "";
        return string.Join(", ", mutexes.Select(m => m.Mutex + HeldBy([m.Holder]))
            .Concat(semaphores.Select(x => x.Semaphore + HeldBy(x.Holders ?? []))));
    }

    /// <summary>The phase as `argo get` and `argo list` show it: a suspended run and a shut-down failure say so.</summary>
    public static string Status(Workflow wf) => wf.Status?.Phase switch
    {
        WorkflowPhase.Running when WorkflowControls.IsSuspended(wf) => "Running (Suspended)",
        WorkflowPhase.Failed when wf.Spec.Shutdown is { Length: > 0 } => "Failed (Terminated)",
        null => WorkflowPhase.Pending,
        var phase => phase,
    };

    /// <summary>The node tree as `argo get` draws it; step groups are folded into their parent's lines.</summary>
    public static string Tree(Workflow wf, DateTimeOffset now)
    {
        var nodes = wf.Status!.Nodes!;
        var rows = new List<string[]> { new[] { "STEP", "TEMPLATE", "PODNAME", "DURATION", "MESSAGE" } };
        var root = nodes.GetValueOrDefault(wf.Name) ?? nodes.Values.FirstOrDefault(n => n.BoundaryID is null);
        if (root is null) return "";
        void Walk(NodeStatus n, string prefix, string childPrefix)
        {
            rows.Add([$"{prefix}{(n is { Type: NodeType.Suspend, Phase: NodePhase.Running } ? Suspended : Icon(n.Phase))} {n.DisplayName}{(n.MemoizationStatus?.Hit == true ? " (memoized)" : "")}", n.TemplateName ?? "", n.Type == NodeType.Pod ? n.Id : "",
                n.Type is NodeType.Pod or NodeType.Container or NodeType.Suspend ? Duration(n.StartedAt, n.FinishedAt, now) : "", n.Message ?? ""]);
            var children = Expand(n, nodes).ToList();
            for (var i = 0; i < children.Count; i++)
            {
                var last = i == children.Count - 1;
                Walk(children[i], childPrefix + (last ? "└─ " : "├─ "), childPrefix + (last ? "   " : "│  "));
            }
        }
        Walk(root, " ", " ");
        // The workflow's own hooks and exit handler stand beside its entrypoint, as in `argo get`.
        foreach (var hook in nodes.Values.Where(n => n.Name.StartsWith($"{wf.Name}.hooks.", StringComparison.Ordinal) && n.BoundaryID is null)) Walk(hook, " ", " ");
        foreach (var exit in nodes.Values.Where(n => n.Name == $"{wf.Name}.onExit")) Walk(exit, " ", " ");
        return Columns(rows);
    }

    private static IEnumerable<NodeStatus> Expand(NodeStatus n, Dictionary<string, NodeStatus> nodes)
    {
        foreach (var id in n.Children ?? [])
        {
            if (nodes.GetValueOrDefault(id) is not { } c) continue;
            if (c.Type == NodeType.StepGroup)
                foreach (var g in Expand(c, nodes)) yield return g;
            else yield return c;
        }
    }

    /// <summary>Argo's mark for a suspend step that waits to be resumed.</summary>
    public const string Suspended = "ǁ";

    public static string Icon(string? phase) => phase switch
    {
        NodePhase.Succeeded => "✔",
        NodePhase.Failed => "✖",
        NodePhase.Error => "⚠",
        NodePhase.Skipped or NodePhase.Omitted => "○",
        NodePhase.Running => "●",
        _ => "◷",
    };

    public static string Duration(DateTimeOffset? start, DateTimeOffset? end, DateTimeOffset now) =>
        start is null ? "" : Human((end ?? now) - start.Value);

    public static string Human(TimeSpan d) =>
        d.TotalSeconds < 1 ? $"{d.TotalMilliseconds:0}ms"
        : d.TotalMinutes < 1 ? $"{d.TotalSeconds:0.#}s"
        : d.TotalHours < 1 ? $"{(int)d.TotalMinutes}m{d.Seconds}s"
        : d.TotalDays < 1 ? $"{(int)d.TotalHours}h{d.Minutes}m"
        : $"{(int)d.TotalDays}d{d.Hours}h";

    internal static string Columns(List<string[]> rows)
    {
        var widths = new int[rows[0].Length];
        foreach (var r in rows) for (var i = 0; i < r.Length; i++) widths[i] = Math.Max(widths[i], r[i].Length);
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (var i = 0; i < r.Length; i++)
            {
                if (i == r.Length - 1) sb.Append(r[i]);
                else sb.Append(r[i].PadRight(widths[i] + 2));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
