using System.Diagnostics;
using EventGateway.Model;
using Prometheus;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// What the reconcile loop does and costs, on the host's Prometheus registry: the project's own
/// <c>eventgateway_controller_*</c> counters (read by the workflow benchmark too) and Argo's controller metrics where one
/// exists (docs/metrics.md of Argo Workflows 4.1, names as its Prometheus exporter writes them, without suffixes):
/// <c>argo_workflows_gauge{phase}</c>, <c>total_count{phase,namespace}</c>, <c>pods_gauge{phase}</c>,
/// <c>pods_total_count{phase,namespace}</c>, <c>operation_duration_seconds</c>, <c>error_count{cause}</c>,
/// <c>queue_depth_gauge</c>, <c>queue_adds_count</c>, <c>workers_busy_count</c>, <c>is_leader</c>.
/// Phases are taken from saved statuses, so what is counted is what the store says.
/// </summary>
public sealed class ControllerMetrics : IWorkflowObserver
{
    /// <summary>Argo's name for the controller's queue of workflow keys.</summary>
    public const string WorkflowQueue = "workflow_queue";

    private readonly Counter _passes, _passSeconds, _results, _saves, _completed;
    private readonly Gauge _phases, _pods;
    private readonly Counter _phaseEntries, _podEntries, _errors, _queueAdds;
    private readonly Histogram _operation;
    private readonly Gauge.Child _queueDepth, _busy;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Seen> _workflows = new(StringComparer.Ordinal);

    /// <param name="registry">The host's registry; none: a private one (benchmarks, tests that build a controller alone).</param>
    public ControllerMetrics(CollectorRegistry? registry = null)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry ?? Prometheus.Metrics.NewCustomRegistry());
        _passes = f.CreateCounter("eventgateway_controller_reconciles_total", "Reconcile passes of the workflow controller.");
        _passSeconds = f.CreateCounter("eventgateway_controller_reconcile_seconds_total", "Wall time spent in reconcile passes (operator pass and status save).");
        _results = f.CreateCounter("eventgateway_controller_step_results_total", "Step state changes (started, finished) taken in by reconcile passes.");
        _saves = f.CreateCounter("eventgateway_controller_status_saves_total", "Workflow status writes to the store.");
        _completed = f.CreateCounter("eventgateway_controller_workflows_completed_total", "Workflows that reached Succeeded, Failed or Error since the service started.");

        _phases = f.CreateGauge("argo_workflows_gauge", "Workflows currently in the store in each phase.", "phase");
        _phaseEntries = f.CreateCounter("argo_workflows_total_count", "Workflows that have entered each phase, by namespace.", "phase", "namespace");
        _pods = f.CreateGauge("argo_workflows_pods_gauge", "Pods (step processes) of unfinished workflows in each phase.", "phase");
        _podEntries = f.CreateCounter("argo_workflows_pods_total_count", "Pods (step processes) that have entered each phase, by namespace.", "phase", "namespace");
        // Argo sizes its buckets for Kubernetes round trips (5 s to 30 s); a pass here takes milliseconds.
        _operation = f.CreateHistogram("argo_workflows_operation_duration_seconds", "Durations of one workflow reconciliation (operator pass and status save).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 17) });
        _errors = f.CreateCounter("argo_workflows_error_count", "Errors of the controller by cause (OperationPanic: a reconcile pass threw).", "cause");
        _queueAdds = f.CreateCounter("argo_workflows_queue_adds_count", "Additions to the controller's work queue.", "queue_name");
        _queueDepth = f.CreateGauge("argo_workflows_queue_depth_gauge", "Keys waiting in the controller's work queue.", "queue_name").WithLabels(WorkflowQueue);
        _busy = f.CreateGauge("argo_workflows_workers_busy_count", "Queue workers busy with a reconcile pass.", "worker_type").WithLabels(WorkflowQueue);
        // One process runs every workflow it stores: always the leader, as Argo with leader election disabled.
        f.CreateGauge("argo_workflows_is_leader", "1 if this controller is the leader (always, one process).").Set(1);
        _queueAdds.WithLabels(WorkflowQueue);
        _errors.WithLabels("OperationPanic");
    }

    internal void Pass(long startTimestamp, int results)
    {
        var seconds = Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
        _passes.Inc();
        _passSeconds.Inc(seconds);
        _results.Inc(results);
        _operation.Observe(seconds);
    }

    internal void Error(string cause) => _errors.WithLabels(cause).Inc();

    internal void Queued(int depth)
    {
        _queueAdds.WithLabels(WorkflowQueue).Inc();
        _queueDepth.Set(depth);
    }

    internal void Taken(int depth, int busy)
    {
        _queueDepth.Set(depth);
        _busy.Set(busy);
    }

    void IWorkflowObserver.StatusSaved(Workflow workflow)
    {
        _saves.Inc();
        Observe(workflow);
    }

    void IWorkflowObserver.Completed(Workflow workflow)
    {
        _completed.Inc();
        Observe(workflow);
    }

    /// <summary>A workflow that was in the store when the service started: counted in the gauges, not as a phase entry.</summary>
    internal void Known(Workflow wf)
    {
        lock (_gate)
        {
            if (_workflows.ContainsKey(KeyOf(wf)) || wf.Status?.Phase is not { Length: > 0 } phase) return;
            _workflows[KeyOf(wf)] = new Seen(phase) { Finished = wf.Status.IsCompleted };
            _phases.WithLabels(phase).Inc();
        }
    }

    /// <summary>The workflow left the store: it leaves the gauges.</summary>
    internal void Deleted(string ns, string name)
    {
        lock (_gate)
        {
            if (!_workflows.Remove($"{ns}/{name}", out var seen)) return;
            _phases.WithLabels(seen.Phase).Dec();
            foreach (var phase in seen.Pods.Values) _pods.WithLabels(phase).Dec();
        }
    }

    private void Observe(Workflow wf)
    {
        var phase = wf.Status?.Phase is { Length: > 0 } p ? p : WorkflowPhase.Pending;
        var ns = wf.NamespaceOrDefault;
        lock (_gate)
        {
            var key = KeyOf(wf);
            if (!_workflows.TryGetValue(key, out var seen))
            {
                _workflows[key] = seen = new Seen(phase);
                _phases.WithLabels(phase).Inc();
                _phaseEntries.WithLabels(phase, ns).Inc();
            }
            else if (seen.Phase != phase)
            {
                _phases.WithLabels(seen.Phase).Dec();
                _phases.WithLabels(phase).Inc();
                _phaseEntries.WithLabels(phase, ns).Inc();
                seen.Phase = phase;
                if (!WorkflowPhase.IsCompleted(phase)) seen.Finished = false; // retried: running again
            }
            if (seen.Finished) return; // saved again after its end (the completion is told twice): its pods were counted
            foreach (var node in (IEnumerable<NodeStatus>?)wf.Status?.Nodes?.Values ?? [])
            {
                if (node.Type != NodeType.Pod) continue;
                if (seen.Pods.TryGetValue(node.Id, out var was) && was == node.Phase) continue;
                if (was is not null) _pods.WithLabels(was).Dec();
                _pods.WithLabels(node.Phase).Inc();
                _podEntries.WithLabels(node.Phase, ns).Inc();
                seen.Pods[node.Id] = node.Phase;
            }
            if (wf.Status?.IsCompleted == true)
            {
                // Finished workflows keep their place in argo_workflows_gauge until deleted; their pods leave pods_gauge.
                foreach (var podPhase in seen.Pods.Values) _pods.WithLabels(podPhase).Dec();
                seen.Pods.Clear();
                seen.Finished = true;
            }
        }
    }

    private static string KeyOf(Workflow wf) => $"{wf.NamespaceOrDefault}/{wf.Name}";

    private sealed class Seen(string phase)
    {
        public string Phase { get; set; } = phase;
        public Dictionary<string, string> Pods { get; } = new(StringComparer.Ordinal);
        public bool Finished { get; set; }
    }

    public long Passes => (long)_passes.Value;

    public double PassSeconds => _passSeconds.Value;

    /// <summary>Step state changes (started, finished) the passes took in.</summary>
    public long StepResults => (long)_results.Value;

    public long StatusSaves => (long)_saves.Value;

    /// <summary>Workflows this controller saw reach Succeeded, Failed or Error since it started.</summary>
    public long WorkflowsCompleted => (long)_completed.Value;
}
