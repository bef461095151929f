using System.Collections.Concurrent;
using System.Threading.Channels;
using EventGateway.Execution;
using EventGateway.Model;
using EventGateway.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventGateway.Workflows;

public sealed class ControllerOptions
{
    /// <summary>Status of a running workflow is written at most this often; phase changes are written at once.</summary>
    public TimeSpan SaveInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// The reconcile loop. Store changes, finished steps and timers only enqueue a workflow's key (once,
/// however often it is enqueued); one worker takes keys and runs an operator pass for that workflow.
/// Running workflows stay in memory with their operator; status is saved throttled, and always on completion.
/// </summary>
public sealed partial class WorkflowController : BackgroundService
{
    private readonly IResourceStore _store;
    private readonly IStepExecutor _executor;
    private readonly StepSpecBuilder _specs;
    private readonly OutputCollector _outputs;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ControllerOptions _options;
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WorkflowRun> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ITimer> _retryTimers = new(StringComparer.Ordinal);
    private CancellationToken _stopping;

    public WorkflowController(IResourceStore store, IStepExecutor executor, StepSpecBuilder specs, OutputCollector outputs,
        TimeProvider time, ILogger<WorkflowController> log, ControllerOptions? options = null)
    {
        (_store, _executor, _specs, _outputs, _time, _log) = (store, executor, specs, outputs, time, log);
        _options = options ?? new ControllerOptions();
    }

    /// <summary>Raised when a workflow reaches Succeeded, Failed or Error (after its final status is saved).</summary>
    public event Action<Workflow>? WorkflowCompleted;

    /// <summary>Raised when a step gets its process slot and starts (or is adopted).</summary>
    public event Action<Workflow, NodeStatus, StepKey>? StepStarted;

    /// <summary>Raised when a step finishes, with where its logs are.</summary>
    public event Action<Workflow, NodeStatus, StepKey>? StepFinished;

    private sealed class WorkflowRun(WorkflowOperator op)
    {
        public WorkflowOperator Operator { get; set; } = op;
        public ConcurrentQueue<PodResult> Results { get; } = new();
        public HashSet<string> InFlight { get; } = new(StringComparer.Ordinal);
        public DateTimeOffset LastSaved { get; set; }
        public string? SavedPhase { get; set; }
        public bool Dirty { get; set; }
        public ITimer? Wake { get; set; }
        public DateTimeOffset? WakeAt { get; set; }
        public ITimer? Flush { get; set; }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        using var watch = _store.Watch("Workflow", OnChange);
        foreach (var wf in await _store.ListAsync<Workflow>(null, stoppingToken).ConfigureAwait(false))
            if (wf.Status?.IsCompleted != true) Enqueue(Key(wf.NamespaceOrDefault, wf.Name));

        try
        {
            await foreach (var key in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                _queued.TryRemove(key, out _);
                try
                {
                    await ReconcileAsync(key, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogReconcileFailed(_log, key, e);
                    ScheduleWake(key, _time.GetUtcNow() + TimeSpan.FromSeconds(1));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally
        {
            // Save what is known; steps keep running and are adopted after a restart.
            foreach (var (key, run) in _runs)
                if (run.Dirty) await TrySaveAsync(run, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private void OnChange(ResourceChange c)
    {
        var key = Key(c.Namespace, c.Name);
        if (c.Type == ChangeType.Deleted)
        {
            if (_runs.TryRemove(key, out var run))
            {
                run.Wake?.Dispose();
                run.Flush?.Dispose();
                lock (run.InFlight)
                    foreach (var id in run.InFlight) _executor.Kill(new StepKey(c.Namespace, c.Name, id));
            }
            return;
        }
        if (!_runs.ContainsKey(key)) Enqueue(key);
    }

    private void Enqueue(string key)
    {
        if (_queued.TryAdd(key, 0)) _queue.Writer.TryWrite(key);
    }

    private async Task ReconcileAsync(string key, CancellationToken ct)
    {
        if (!_runs.TryGetValue(key, out var run))
        {
            var (ns, name) = Split(key);
            var wf = await _store.GetAsync<Workflow>(ns, name, ct).ConfigureAwait(false);
            if (wf is null || wf.Status?.IsCompleted == true) return;
            if (wf.Status?.StartedAt is null && await ArtifactRepositoryProblemAsync(wf, ct).ConfigureAwait(false) is { } problem)
            {
                await RefuseAsync(wf, problem, ct).ConfigureAwait(false);
                return;
            }
            run = new WorkflowRun(new WorkflowOperator(wf, _time)) { LastSaved = _time.GetUtcNow(), SavedPhase = wf.Status?.Phase };
            _runs[key] = run;
        }

        var results = new List<PodResult>();
        while (run.Results.TryDequeue(out var r)) results.Add(r);
        var before = run.Operator.Workflow.Status?.Phase;
        OperateResult outcome;
        try
        {
            outcome = run.Operator.Operate(results);
        }
        catch (Exception e)
        {
            // A pass that failed half-way may have created nodes whose pods it never handed over: start
            // afresh from the status, as after a restart, so every unfinished pod is requested again.
            LogReconcileFailed(_log, key, e);
            run.Operator = new WorkflowOperator(run.Operator.Workflow, _time);
            ScheduleWake(key, _time.GetUtcNow() + TimeSpan.FromSeconds(1));
            return;
        }
        var wfNow = run.Operator.Workflow;
        run.Dirty = true;

        foreach (var pod in outcome.Pods)
        {
            bool added;
            lock (run.InFlight) added = run.InFlight.Add(pod.NodeId);
            if (added) _ = RunPodAsync(key, run, pod);
        }
        foreach (var id in outcome.PodsToKill) _executor.Kill(new StepKey(wfNow.NamespaceOrDefault, wfNow.Name, id));
        if (outcome.RequeueAt is { } at) ScheduleWake(key, at, run);

        var now = _time.GetUtcNow();
        if (outcome.Completed || before != wfNow.Status?.Phase || run.SavedPhase is null || now - run.LastSaved >= _options.SaveInterval)
            await SaveAsync(run, ct).ConfigureAwait(false);
        else if (run.Flush is null)
            run.Flush = _time.CreateTimer(_ => Enqueue(key), null, _options.SaveInterval, Timeout.InfiniteTimeSpan);

        if (outcome.Completed)
        {
            _runs.TryRemove(key, out _);
            run.Wake?.Dispose();
            run.Flush?.Dispose();
            LogCompleted(_log, key, wfNow.Status!.Phase!);
            WorkflowCompleted?.Invoke(wfNow);
        }
    }

    /// <summary>An artifactRepositoryRef must name a ConfigMap (default "artifact-repositories") and key that exist.</summary>
    private async Task<string?> ArtifactRepositoryProblemAsync(Workflow wf, CancellationToken ct)
    {
        var spec = wf.Status?.StoredWorkflowTemplateSpec ?? wf.Spec;
        if (spec.ArtifactRepositoryRef is not System.Text.Json.Nodes.JsonObject r) return null;
        var name = r["configMap"]?.GetValue<string>() ?? "artifact-repositories";
        var cm = await _store.GetAsync<ConfigMap>(wf.NamespaceOrDefault, name, ct).ConfigureAwait(false);
        if (cm is null) return $"failed to find artifact repository: configmap \"{name}\" not found in namespace \"{wf.NamespaceOrDefault}\"";
        var key = r["key"]?.GetValue<string>() ?? cm.Metadata.Annotations?.GetValueOrDefault("workflows.argoproj.io/default-artifact-repository");
        if (key is not null && cm.Data?.ContainsKey(key) != true) return $"failed to find artifact repository: configmap \"{name}\" has no key \"{key}\"";
        return null;
    }

    /// <summary>Ends a workflow that cannot start, saying why, as Argo does with phase Error.</summary>
    private async Task RefuseAsync(Workflow wf, string message, CancellationToken ct)
    {
        var now = WorkflowOperator.Truncate(_time.GetUtcNow());
        wf.Status ??= new WorkflowStatus();
        (wf.Status.Phase, wf.Status.Message, wf.Status.StartedAt, wf.Status.FinishedAt) = (WorkflowPhase.Error, message, now, now);
        wf.Status.Nodes ??= [];
        await _store.UpdateAsync(wf, ct).ConfigureAwait(false);
        LogCompleted(_log, Key(wf.NamespaceOrDefault, wf.Name), WorkflowPhase.Error);
        WorkflowCompleted?.Invoke(wf);
    }

    private async Task SaveAsync(WorkflowRun run, CancellationToken ct)
    {
        var wf = run.Operator.Workflow;
        try
        {
            await _store.UpdateAsync(wf, ct).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            // Someone else changed the object (labels, annotations); keep theirs and put our status on it.
            var fresh = await _store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name, ct).ConfigureAwait(false);
            if (fresh is null) return;
            wf.Metadata = fresh.Metadata;
            await _store.UpdateAsync(wf, ct).ConfigureAwait(false);
        }
        run.LastSaved = _time.GetUtcNow();
        run.SavedPhase = wf.Status?.Phase;
        run.Dirty = false;
        run.Flush?.Dispose();
        run.Flush = null;
    }

    private async Task TrySaveAsync(WorkflowRun run, CancellationToken ct)
    {
        try { await SaveAsync(run, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is ConflictException or ObjectDisposedException) { LogSaveFailed(_log, run.Operator.Workflow.Name, e); }
    }

    /// <summary>
    /// Wakes the workflow at <paramref name="at"/>. One pending timer per workflow, kept referenced until it
    /// fires (an unreferenced timer may be collected and never fire); an earlier request replaces a later one.
    /// </summary>
    private void ScheduleWake(string key, DateTimeOffset at, WorkflowRun? run = null)
    {
        var due = at - _time.GetUtcNow();
        if (due < TimeSpan.Zero) due = TimeSpan.Zero;
        if (run is null)
        {
            _retryTimers.AddOrUpdate(key,
                k => _time.CreateTimer(_ => { if (_retryTimers.TryRemove(k, out var t)) t.Dispose(); Enqueue(k); }, null, due, Timeout.InfiniteTimeSpan),
                (_, existing) => existing);
            return;
        }
        lock (run)
        {
            if (run.WakeAt is { } pending && pending <= at) return;
            run.Wake?.Dispose();
            run.WakeAt = at;
            run.Wake = _time.CreateTimer(_ =>
            {
                // A timer may fire a hair before the wall clock reaches `at`; the next pass asks again if so.
                lock (run) run.WakeAt = null;
                Enqueue(key);
            }, null, due, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task RunPodAsync(string key, WorkflowRun run, PodRequest pod)
    {
        var wf = run.Operator.Workflow;
        var stepKey = new StepKey(wf.NamespaceOrDefault, wf.Name, pod.NodeId);
        PodResult result;
        try
        {
            var (spec, error) = await _specs.BuildAsync(wf, pod, _time, _stopping).ConfigureAwait(false);
            if (spec is null)
            {
                var now = _time.GetUtcNow();
                result = new PodResult(pod.NodeId, NodePhase.Error, error, null, null, now, now);
            }
            else
            {
                var outcome = await _executor.RunAsync(spec, () =>
                {
                    Post(key, run, new PodResult(pod.NodeId, NodePhase.Running, null, null, null, _time.GetUtcNow(), default));
                    if (StepStarted is { } started && wf.Status?.Nodes?.GetValueOrDefault(pod.NodeId) is { } node) started(wf, node, stepKey);
                }, _stopping).ConfigureAwait(false);
                result = _outputs.Collect(wf, pod, stepKey, outcome);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return; // service stopping: the step goes on and is adopted after restart
        }
        catch (Exception e)
        {
            var now = _time.GetUtcNow();
            result = new PodResult(pod.NodeId, NodePhase.Error, $"executor error: {e.Message}", null, null, now, now);
        }
        finally
        {
            lock (run.InFlight) run.InFlight.Remove(pod.NodeId);
        }
        Post(key, run, result);
        if (StepFinished is { } handler && wf.Status?.Nodes?.GetValueOrDefault(pod.NodeId) is { } node)
            handler(wf, node, stepKey);
    }

    private void Post(string key, WorkflowRun run, PodResult result)
    {
        run.Results.Enqueue(result);
        Enqueue(key);
    }

    private static string Key(string ns, string name) => $"{ns}/{name}";

    private static (string Ns, string Name) Split(string key)
    {
        var i = key.IndexOf('/');
        return (key[..i], key[(i + 1)..]);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "reconcile of {Key} failed; retrying")]
    private static partial void LogReconcileFailed(ILogger log, string key, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not save status of {Name}")]
    private static partial void LogSaveFailed(ILogger log, string name, Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "workflow {Key} {Phase}")]
    private static partial void LogCompleted(ILogger log, string key, string phase);
}
