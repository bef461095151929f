using System.Diagnostics;
using EventGateway.Model;
using EventGateway.Workflows.Controller;

namespace EventGateway.Workflows.Telemetry;

/// <summary>
/// The controller's spans, named as Argo names them: one <c>workflow</c> span per run and one <c>node</c> span per pod
/// (step), made from saved statuses. A workflow whose <see cref="Annotations.TraceParent"/> names a trace (the sensor's
/// trigger span that created it) joins that trace; the spans take their times from the status (startedAt, finishedAt),
/// so a restart neither loses nor restarts them: after one, the workflow span is begun again from the stored start and
/// the annotation, in the same trace (steps that ended before the restart point at the earlier process's workflow span,
/// which was never ended, as Argo's do). Nothing is done while no one listens to <see cref="SourceName"/>.
/// </summary>
public sealed class WorkflowTracing(TimeProvider time) : IWorkflowObserver
{
    public const string SourceName = "EventGateway.Workflows";

    private static readonly ActivitySource Source = new(SourceName);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Run> _runs = new(StringComparer.Ordinal);

    /// <summary>Puts the current span's trace context on a workflow about to be created, unless it names one already.</summary>
    public static void Stamp(Workflow wf)
    {
        if (Activity.Current is not { IdFormat: ActivityIdFormat.W3C } current) return;
        wf.Metadata.Annotations ??= new Dictionary<string, string>(StringComparer.Ordinal);
        wf.Metadata.Annotations.TryAdd(Annotations.TraceParent, current.Id!);
    }

    void IWorkflowObserver.StatusSaved(Workflow workflow) => Observe(workflow, completed: false);

    void IWorkflowObserver.Completed(Workflow workflow) => Observe(workflow, completed: true);

    private void Observe(Workflow wf, bool completed)
    {
        if (!Source.HasListeners() || wf.Status is not { StartedAt: { } started } status) return;
        var key = wf.Metadata.Uid ?? $"{wf.NamespaceOrDefault}/{wf.Name}";
        var outer = Activity.Current;
        try
        {
            lock (_gate)
            {
                if (!_runs.TryGetValue(key, out var run))
                {
                    var parent = wf.Metadata.Annotations?.GetValueOrDefault(Annotations.TraceParent) is { } tp
                        && ActivityContext.TryParse(tp, null, out var ctx) ? ctx : default;
                    Activity.Current = null; // a workflow's span never hangs under whatever span saved its status
                    var span = Source.CreateActivity("workflow", ActivityKind.Internal, parent, Tags(wf));
                    if (span is null) return;
                    span.SetStartTime(started.UtcDateTime);
                    span.Start();
                    _runs[key] = run = new Run(span);
                }
                foreach (var node in status.Nodes?.Values ?? (IEnumerable<NodeStatus>)[])
                {
                    if (node.Type != NodeType.Pod || !node.Fulfilled || node.StartedAt is not { } nodeStart || !run.Ended.Add(node.Id)) continue;
                    var span = Source.CreateActivity("node", ActivityKind.Internal, run.Workflow.Context,
                    [
                        new("node_id", node.Id), new("name", wf.Name), new("namespace", wf.NamespaceOrDefault), new("node_type", node.Type),
                        new("node_name", node.DisplayName), new("node_phase", node.Phase),
                    ]);
                    if (span is null) continue;
                    span.SetStartTime(nodeStart.UtcDateTime);
                    span.Start();
                    End(span, node.FinishedAt ?? nodeStart, node.Phase, node.Message);
                }
                if (!completed) return;
                _runs.Remove(key);
                End(run.Workflow, status.FinishedAt ?? time.GetUtcNow(), status.Phase, status.Message);
            }
        }
        finally
        {
            Activity.Current = outer;
        }
    }

    private static void End(Activity span, DateTimeOffset end, string? phase, string? message)
    {
        span.SetTag("phase", phase);
        if (phase is WorkflowPhase.Failed or WorkflowPhase.Error) span.SetStatus(ActivityStatusCode.Error, message);
        span.SetEndTime(end.UtcDateTime);
        span.Stop();
    }

    private static KeyValuePair<string, object?>[] Tags(Workflow wf) =>
        [new("name", wf.Name), new("namespace", wf.NamespaceOrDefault), new("uid", wf.Metadata.Uid)];

    private sealed class Run(Activity workflow)
    {
        public Activity Workflow { get; } = workflow;
        public HashSet<string> Ended { get; } = new(StringComparer.Ordinal);
    }
}
