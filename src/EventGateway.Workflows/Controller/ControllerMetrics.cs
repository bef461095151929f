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
/// <c>queue_depth_gauge</c>, <c>queue_adds_count</c>, <c>queue_latency</c>, <c>queue_duration</c>, <c>workers_busy_count</c>,
/// <c>is_leader</c>, <c>workflowtemplate_triggered_total</c>, <c>workflowtemplate_runtime</c>, <c>locks_held</c>,
/// <c>locks_pending</c>, <c>locks_taken_total</c>. Phases are taken from saved statuses, so what is counted is what the store says.
/// </summary>
public sealed class ControllerMetrics : IWorkflowObserver
{
    /// <summary>Argo's name for the controller's queue of workflow keys.</summary>
    public const string WorkflowQueue = "workflow_queue";

    /// <summary>Argo's <c>error_count</c>, shared with <see cref="Schedules.CronMetrics"/> (one family, several causes).</summary>
    public const string ErrorCount = "argo_workflows_error_count";
    public const string ErrorCountHelp = "Errors of the controller by cause (OperationPanic: a reconcile pass threw; CronWorkflowSubmissionError: a CronWorkflow's tick could not be submitted).";

    /// <summary>Argo's lock storage label: every lock here lives in the controller's memory, as Argo's ConfigMap/mutex locks.</summary>
    private const string LockStorage = "configmap";

    private readonly Counter _passes, _passSeconds, _results, _saves, _completed;
    private readonly Gauge _phases, _pods;
    private readonly Counter _phaseEntries, _podEntries, _errors, _queueAdds, _templateEntries, _locksTaken;
    private readonly Histogram _operation, _templateRuntime;
    private readonly Histogram.Child _queueLatency, _queueDuration;
    private readonly Gauge _locksHeld, _locksPending;
    private Synchronization.LockTable? _locks;
    private readonly HashSet<(string, string, string)> _lockSeries = [];
    private readonly Gauge.Child _queueDepth, _busy;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Seen> _workflows = new(StringComparer.Ordinal);

    /// <param name="registry">The host's registry; none: a private one (benchmarks, tests that build a controller alone).</param>
    public ControllerMetrics(CollectorRegistry? registry = null)
    {
        registry ??= Prometheus.Metrics.NewCustomRegistry();
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        _passes = f.CreateCounter("eventgateway_controller_reconciles_total", "Reconcile passes of the workflow controller.");
        _passSeconds = f.CreateCounter("eventgateway_controller_reconcile_seconds_total", "Wall time spent in reconcile passes (operator pass and status save).");
        _results = f.CreateCounter("eventgateway_controller_step_results_total", "Step state changes (started, finished) taken in by reconcile passes.");
        _saves = f.CreateCounter("eventgateway_controller_status_saves_total", "Workflow status writes to the store.");
        _completed = f.CreateCounter("eventgateway_controller_workflows_completed_total", "Workflows that reached Succeeded, Failed or Error since the service started.");

        _phases = f.CreateGauge("argo_workflows_gauge", "Workflows currently in the store in each phase.", "phase");
        _phaseEntries = f.CreateCounter("argo_workflows_total_count", "Workflows that have entered each phase, by namespace.", "phase", "namespace");
        _pods = f.CreateGauge("argo_workflows_pods_gauge", "Pods (step processes) of unfinished workflows in each phase.", "phase");
        // Both of Argo's phases from the start, at 0 (Argo's gauge reports Pending and Running always): a step too short
        // for any status save to catch it running would otherwise leave the Running series missing, not 0.
        _pods.WithLabels(NodePhase.Pending);
        _pods.WithLabels(NodePhase.Running);
        _podEntries = f.CreateCounter("argo_workflows_pods_total_count", "Pods (step processes) that have entered each phase, by namespace.", "phase", "namespace");
        // Argo sizes its buckets for Kubernetes round trips (5 s to 30 s); a pass here takes milliseconds.
        _operation = f.CreateHistogram("argo_workflows_operation_duration_seconds", "Durations of one workflow reconciliation (operator pass and status save).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 17) });
        _errors = f.CreateCounter(ErrorCount, ErrorCountHelp, "cause");
        _queueAdds = f.CreateCounter("argo_workflows_queue_adds_count", "Additions to the controller's work queue.", "queue_name");
        _queueDepth = f.CreateGauge("argo_workflows_queue_depth_gauge", "Keys waiting in the controller's work queue.", "queue_name").WithLabels(WorkflowQueue);
        _busy = f.CreateGauge("argo_workflows_workers_busy_count", "Queue workers busy with a reconcile pass.", "worker_type").WithLabels(WorkflowQueue);
        // Argo's buckets (latency 1 s to 180 s, duration 0.1 s to 180 s) with finer ones below: a key waits and is
        // worked on for milliseconds here, not for a Kubernetes round trip.
        double[] fine = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05];
        _queueLatency = f.CreateHistogram("argo_workflows_queue_latency", "Seconds a key waited in the controller's work queue before a worker took it.",
            new HistogramConfiguration { LabelNames = ["queue_name"], Buckets = [.. fine, 0.1, 0.25, 0.5, 1, 5, 20, 60, 180] }).WithLabels(WorkflowQueue);
        _queueDuration = f.CreateHistogram("argo_workflows_queue_duration", "Seconds a worker spent on a key taken from the controller's work queue.",
            new HistogramConfiguration { LabelNames = ["queue_name"], Buckets = [.. fine, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60, 180] }).WithLabels(WorkflowQueue);
        _templateEntries = f.CreateCounter("argo_workflows_workflowtemplate_triggered_total",
            "Workflows made from a workflowTemplateRef as they enter each phase.", "name", "namespace", "cluster_scope", "phase");
        _templateRuntime = f.CreateHistogram("argo_workflows_workflowtemplate_runtime",
            "Seconds from startedAt to finishedAt of workflows made from a workflowTemplateRef.",
            new HistogramConfiguration { LabelNames = ["name", "namespace", "cluster_scope"], Buckets = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 10800] });
        _locksHeld = f.CreateGauge("argo_workflows_locks_held", "Holders of each synchronization lock now (mutex: 0 or 1; semaphore: up to its limit).",
            "type", "storage", "lock_name", "namespace");
        _locksPending = f.CreateGauge("argo_workflows_locks_pending", "Workflows or templates waiting for each synchronization lock now.",
            "type", "storage", "lock_name", "namespace");
        _locksTaken = f.CreateCounter("argo_workflows_locks_taken_total", "Synchronization locks taken.", "type", "storage", "lock_name", "namespace");
        // Held and pending are read from the lock table at scrape time, as Argo does, so they are right after a restart.
        registry.AddBeforeCollectCallback(RefreshLocks);
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

    internal void QueueLatency(TimeSpan waited) => _queueLatency.Observe(waited.TotalSeconds);

    internal void QueueDuration(TimeSpan worked) => _queueDuration.Observe(worked.TotalSeconds);

    /// <summary>The table whose locks the gauges report; it tells each lock taken through <see cref="LockTaken"/>.</summary>
    internal void Follow(Synchronization.LockTable table) => _locks = table;

    internal void LockTaken(Synchronization.LockName name)
    {
        var (type, lockName) = LockLabels(name);
        _locksTaken.WithLabels(type, LockStorage, lockName, name.Namespace).Inc();
    }

    /// <summary>Argo's labels: mutex or semaphore; a semaphore is named "configMap/key", as one ConfigMap holds several.</summary>
    private static (string Type, string Name) LockLabels(Synchronization.LockName name) =>
        name.IsSemaphore ? ("semaphore", $"{name.Name}/{name.ConfigMapKey}") : ("mutex", name.Name);

    private void RefreshLocks()
    {
        if (_locks is null) return;
        lock (_lockSeries) RefreshLocks(_locks);
    }

    private void RefreshLocks(Synchronization.LockTable locks)
    {
        var now = new HashSet<(string, string, string)>();
        foreach (var (name, held, pending) in locks.Usage())
        {
            var (type, lockName) = LockLabels(name);
            _locksHeld.WithLabels(type, LockStorage, lockName, name.Namespace).Set(held);
            _locksPending.WithLabels(type, LockStorage, lockName, name.Namespace).Set(pending);
            now.Add((type, lockName, name.Namespace));
        }
        // A lock no one holds or waits for is forgotten by the table: its series go too.
        foreach (var (type, lockName, ns) in _lockSeries.Where(s => !now.Contains(s)))
        {
            _locksHeld.RemoveLabelled(type, LockStorage, lockName, ns);
            _locksPending.RemoveLabelled(type, LockStorage, lockName, ns);
        }
        _lockSeries.Clear();
        _lockSeries.UnionWith(now);
    }

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
                TemplatePhase(wf, phase);
            }
            else if (seen.Phase != phase)
            {
                _phases.WithLabels(seen.Phase).Dec();
                _phases.WithLabels(phase).Inc();
                _phaseEntries.WithLabels(phase, ns).Inc();
                TemplatePhase(wf, phase);
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

    /// <summary>Argo's workflowtemplate_* metrics: only for workflows made from a workflowTemplateRef.</summary>
    private void TemplatePhase(Workflow wf, string phase)
    {
        if (wf.Spec.WorkflowTemplateRef is not { Name: { Length: > 0 } name } reference) return;
        var cluster = reference.ClusterScope == true ? "true" : "false";
        // A ClusterWorkflowTemplate has no namespace of its own; Argo labels it with the workflow's.
        _templateEntries.WithLabels(name, wf.NamespaceOrDefault, cluster, phase).Inc();
        if (WorkflowPhase.IsCompleted(phase) && wf.Status?.StartedAt is { } started && wf.Status.FinishedAt is { } finished)
            _templateRuntime.WithLabels(name, wf.NamespaceOrDefault, cluster).Observe(Math.Max(0, (finished - started).TotalSeconds));
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
