using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Workflows.Agent;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Memoization;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Synchronization;

namespace EventGateway.Workflows.Controller;

public sealed class ControllerOptions
{
    /// <summary>Status of a running workflow is written at most this often; phase changes are written at once.</summary>
    public TimeSpan SaveInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The service-wide artifact repository (<c>egw serve --artifact-repository</c>); null: the local one.</summary>
    public ArtifactRepository? ArtifactRepository { get; set; }

    /// <summary>Loop items and nodes per workflow (<c>--max-loop-items</c>, <c>--max-workflow-nodes</c>).</summary>
    public Validation.WorkflowLimits Limits { get; set; } = Validation.WorkflowLimits.Default;
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
    private readonly Dictionary<TemplateType, ITemplateRunner> _runners;
    private readonly SemaphoreLimits _limits;
    private readonly LockTable _locks;
    private readonly MemoCache _memo;
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WorkflowRun> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ITimer> _retryTimers = new(StringComparer.Ordinal);
    private CancellationToken _stopping;

    public WorkflowController(IResourceStore store, IStepExecutor executor, StepSpecBuilder specs, OutputCollector outputs,
        TimeProvider time, ILogger<WorkflowController> log, ControllerOptions? options = null, IEnumerable<ITemplateRunner>? runners = null)
    {
        (_store, _executor, _specs, _outputs, _time, _log) = (store, executor, specs, outputs, time, log);
        _options = options ?? new ControllerOptions();
        _runners = (runners ?? []).ToDictionary(r => r.Type);
        _limits = new SemaphoreLimits(store, log);
        _locks = new LockTable(Enqueue, _limits.Read);
        _memo = new MemoCache(store, time, log);
    }

    public ControllerMetrics Metrics { get; } = new();

    /// <summary>Raised when a workflow reaches Succeeded, Failed or Error (after its final status is saved).</summary>
    public event Action<Workflow>? WorkflowCompleted;

    /// <summary>Raised after a status is saved: what it says is durable (podGC removes only pods whose end is saved).</summary>
    public event Action<Workflow>? StatusSaved;

    /// <summary>Raised when a step gets its process slot and starts (or is adopted).</summary>
    public event Action<Workflow, NodeStatus, StepKey>? StepStarted;

    /// <summary>Raised when a step finishes, with where its logs are.</summary>
    public event Action<Workflow, NodeStatus, StepKey>? StepFinished;

    private sealed class WorkflowRun(WorkflowOperator op)
    {
        public WorkflowOperator Operator { get; set; } = op;
        public ConcurrentQueue<PodResult> Results { get; } = new();
        public HashSet<string> InFlight { get; } = new(StringComparer.Ordinal);
        /// <summary>Per in-flight step (guarded by the InFlight lock): whether it got its process, whether it was killed.</summary>
        public Dictionary<string, PodControl> Controls { get; } = new(StringComparer.Ordinal);
        /// <summary>The newest resourceVersion the store announced; newer than ours means someone else wrote.</summary>
        public long StoreVersion;
        public DateTimeOffset LastSaved { get; set; }
        public string? SavedPhase { get; set; }
        public bool Dirty { get; set; }
        public ITimer? Wake { get; set; }
        public DateTimeOffset? WakeAt { get; set; }
        public ITimer? Flush { get; set; }
        public volatile bool FlushFired;
    }

    private sealed class PodControl(CancellationToken stopping)
    {
        /// <summary>Cancelled only while the step waits for a slot: cancelling later would stop the wait for a live process.</summary>
        public CancellationTokenSource WaitForSlot { get; } = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        public bool Started { get; set; }
        public bool Killed { get; set; }
        /// <summary>The containers of a containerSet pod, which a kill of the pod stops.</summary>
        public ContainerSetRun? Set { get; set; }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        using var watch = _store.Watch("Workflow", OnChange);
        using var limits = _limits.Follow(_locks);
        foreach (var wf in await _store.ListAsync<Workflow>(null, stoppingToken).ConfigureAwait(false))
            if (wf.Status?.IsCompleted != true)
            {
                // Before any pass: locks held before a restart stay held by the workflows still running.
                _locks.Restore(wf);
                Enqueue(Key(wf.NamespaceOrDefault, wf.Name));
            }

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
                List<string> inFlight;
                lock (run.InFlight) inFlight = [.. run.InFlight];
                Kill(run, c.Namespace, c.Name, inFlight);
            }
            // After the run is gone: a pass still under way sees that and releases what it took meanwhile.
            _locks.ReleaseWorkflow(c.Namespace, c.Name);
            return;
        }
        if (!_runs.TryGetValue(key, out var running))
        {
            Enqueue(key);
            return;
        }
        // Our own saves come back with our version; anything newer is an outside change (suspend, resume,
        // stop, terminate, labels): the next pass reads it.
        if (c.ResourceVersion <= VersionOf(running.Operator.Workflow)) return;
        for (var seen = Volatile.Read(ref running.StoreVersion); c.ResourceVersion > seen;)
        {
            var was = Interlocked.CompareExchange(ref running.StoreVersion, c.ResourceVersion, seen);
            if (was == seen) break;
            seen = was;
        }
        Enqueue(key);
    }

    private static long VersionOf(Workflow wf) =>
        long.TryParse(wf.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0;

    private void Enqueue(string key)
    {
        if (_queued.TryAdd(key, 0)) _queue.Writer.TryWrite(key);
    }

    private async Task ReconcileAsync(string key, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var results = new List<PodResult>();
        try { await ReconcileAsync(key, results, ct).ConfigureAwait(false); }
        finally { Metrics.Pass(started, results.Count); }
    }

    private async Task ReconcileAsync(string key, List<PodResult> results, CancellationToken ct)
    {
        if (!_runs.TryGetValue(key, out var run))
        {
            var (ns, name) = Split(key);
            var wf = await _store.GetAsync<Workflow>(ns, name, ct).ConfigureAwait(false);
            if (wf is null || wf.Status?.IsCompleted == true) return;
            if (wf.Metadata.Annotations?.ContainsKey(WorkflowControls.PodsToDeleteAnnotation) == true)
            {
                await DiscardRetriedStepsAsync(wf, ct).ConfigureAwait(false);
                Enqueue(key);
                return;
            }
            if (wf.Status?.StartedAt is null && await ArtifactRepositoryProblemAsync(wf, ct).ConfigureAwait(false) is { } problem)
            {
                await RefuseAsync(wf, problem, ct).ConfigureAwait(false);
                return;
            }
            run = new WorkflowRun(new WorkflowOperator(wf, _time) { Locks = _locks, Limits = _options.Limits }) { LastSaved = _time.GetUtcNow(), SavedPhase = wf.Status?.Phase };
            _runs[key] = run;
        }
        else if (Volatile.Read(ref run.StoreVersion) > VersionOf(run.Operator.Workflow))
        {
            var (ns, name) = Split(key);
            if (await _store.GetAsync<Workflow>(ns, name, ct).ConfigureAwait(false) is not { } fresh) return; // deleted: OnChange ends the run
            AdoptOutsideChanges(run, fresh);
        }

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
            run.Operator = new WorkflowOperator(run.Operator.Workflow, _time) { Locks = _locks, Limits = _options.Limits };
            ScheduleWake(key, _time.GetUtcNow() + TimeSpan.FromSeconds(1));
            return;
        }
        var wfNow = run.Operator.Workflow;
        run.Dirty = true;
        if (!_runs.ContainsKey(key)) _locks.ReleaseWorkflow(wfNow.NamespaceOrDefault, wfNow.Name); // deleted during the pass

        foreach (var pod in outcome.Pods)
        {
            PodControl? control = null;
            lock (run.InFlight)
                if (run.InFlight.Add(pod.NodeId))
                    run.Controls[pod.NodeId] = control = new PodControl(_stopping);
            if (control is not null) _ = RunPodAsync(key, run, pod, control);
        }
        if (outcome.PodsToKill.Count > 0) Kill(run, wfNow.NamespaceOrDefault, wfNow.Name, outcome.PodsToKill);
        if (outcome.RequeueAt is { } at) ScheduleWake(key, at, run);

        var now = _time.GetUtcNow();
        if (outcome.Completed || before != wfNow.Status?.Phase || run.SavedPhase is null || now - run.LastSaved >= _options.SaveInterval)
            await SaveAsync(run, ct).ConfigureAwait(false);
        else if (run.Flush is null || run.FlushFired)
        {
            // (Re)arm for the rest of the interval. A timer can fire a hair before the interval has passed on
            // this clock; that pass does not save, and without re-arming the status would never be saved.
            run.Flush?.Dispose();
            var due = _options.SaveInterval - (now - run.LastSaved);
            if (due < TimeSpan.FromMilliseconds(1)) due = TimeSpan.FromMilliseconds(1);
            run.FlushFired = false;
            run.Flush = _time.CreateTimer(_ =>
            {
                run.FlushFired = true;
                Enqueue(key);
            }, null, due, Timeout.InfiniteTimeSpan);
        }

        if (outcome.Completed)
        {
            _runs.TryRemove(key, out _);
            run.Wake?.Dispose();
            run.Flush?.Dispose();
            _locks.ReleaseWorkflow(wfNow.NamespaceOrDefault, wfNow.Name);
            LogCompleted(_log, key, wfNow.Status!.Phase!);
            Metrics.WorkflowCompleted();
            WorkflowCompleted?.Invoke(wfNow);
        }
    }

    /// <summary>Resolves the workflow's artifact repository and freezes it into its status, or says why it cannot start.</summary>
    private async Task<string?> ArtifactRepositoryProblemAsync(Workflow wf, CancellationToken ct)
    {
        var (resolved, problem) = await Artifacts.ArtifactRepositories.ResolveAsync(_store, wf, _options.ArtifactRepository, ct).ConfigureAwait(false);
        if (resolved is not null) (wf.Status ??= new WorkflowStatus()).ArtifactRepositoryRef = resolved;
        return problem;
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
        Metrics.WorkflowCompleted();
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
            // Someone else changed the object (labels, operator controls); take theirs and put our status on it.
            var fresh = await _store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name, ct).ConfigureAwait(false);
            if (fresh is null) return;
            AdoptOutsideChanges(run, fresh);
            await _store.UpdateAsync(wf, ct).ConfigureAwait(false);
        }
        Metrics.Saved();
        run.LastSaved = _time.GetUtcNow();
        run.SavedPhase = wf.Status?.Phase;
        run.Dirty = false;
        run.Flush?.Dispose();
        run.Flush = null;
        StatusSaved?.Invoke(wf);
    }

    /// <summary>
    /// What others may change on a running workflow: metadata, spec.suspend, spec.shutdown, and the outcome of
    /// waiting suspend nodes (resume). The rest of the status is ours and newer than the stored one.
    /// </summary>
    private static void AdoptOutsideChanges(WorkflowRun run, Workflow fresh)
    {
        var wf = run.Operator.Workflow;
        wf.Metadata = fresh.Metadata;
        wf.Spec.Suspend = fresh.Spec.Suspend;
        wf.Spec.Shutdown = fresh.Spec.Shutdown;
        run.Operator.AdoptSuspendDecisions(fresh.Status);
    }

    /// <summary>
    /// A retry runs some steps again under their old node ids: their finished processes are discarded first,
    /// or the executor would adopt the old outcome. Done before the run starts, and recorded as done (the
    /// annotation removed) before any step starts, so a crash in between only repeats the discarding.
    /// </summary>
    private async Task DiscardRetriedStepsAsync(Workflow wf, CancellationToken ct)
    {
        var ids = wf.Metadata.Annotations![WorkflowControls.PodsToDeleteAnnotation].Split(',', StringSplitOptions.RemoveEmptyEntries);
        foreach (var id in ids)
        {
            var key = new StepKey(wf.NamespaceOrDefault, wf.Name, id);
            _executor.Kill(key);
            _executor.Forget(key);
        }
        wf.Metadata.Annotations.Remove(WorkflowControls.PodsToDeleteAnnotation);
        if (wf.Metadata.Annotations.Count == 0) wf.Metadata.Annotations = null;
        try { await _store.UpdateAsync(wf, ct).ConfigureAwait(false); }
        catch (ConflictException) { } // changed meanwhile: the next pass reads it and discards again
    }

    /// <summary>
    /// Kills steps' processes; steps still waiting for a process slot never start. All are marked killed before
    /// any process dies, or the slot a kill frees could go to a step that is being killed too.
    /// </summary>
    private void Kill(WorkflowRun run, string ns, string name, IReadOnlyList<string> nodeIds)
    {
        var waiting = new List<CancellationTokenSource>();
        var sets = new List<ContainerSetRun>();
        lock (run.InFlight)
            foreach (var id in nodeIds)
                if (run.Controls.GetValueOrDefault(id) is { } control)
                {
                    control.Killed = true;
                    if (!control.Started) waiting.Add(control.WaitForSlot);
                    if (control.Set is { } set) sets.Add(set);
                }
        foreach (var set in sets) set.Kill();
        foreach (var cancel in waiting)
        {
            try { cancel.Cancel(); }
            catch (ObjectDisposedException) { } // the step ended meanwhile
        }
        foreach (var id in nodeIds) _executor.Kill(new StepKey(ns, name, id));
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

    private async Task RunPodAsync(string key, WorkflowRun run, PodRequest pod, PodControl control)
    {
        var killed = control.WaitForSlot.Token;
        var wf = run.Operator.Workflow;
        var stepKey = new StepKey(wf.NamespaceOrDefault, wf.Name, pod.NodeId);
        // A step that had started before a restart is adopted, not looked up again.
        var lookUp = pod.Template.Memoize is not null && wf.Status?.Nodes?.GetValueOrDefault(pod.NodeId)?.Phase != NodePhase.Running;
        PodResult result;
        try
        {
            // http and resource templates run here, not as a process; they hold no slot, so a kill always cancels them.
            var runner = _runners.GetValueOrDefault(pod.Template.Type);
            if (lookUp && await _memo.LookUpAsync(wf.NamespaceOrDefault, pod, killed).ConfigureAwait(false) is { } cached)
                result = cached; // a hit (or an unusable cache) is the step's result: nothing runs
            else if (pod.Template.ContainerSet is not null)
                result = await RunContainerSetAsync(key, run, pod, control, killed).ConfigureAwait(false);
            else if (runner is not null)
            {
                Post(key, run, new PodResult(pod.NodeId, NodePhase.Running, null, null, null, _time.GetUtcNow(), default));
                result = await runner.RunAsync(wf, pod, killed).ConfigureAwait(false);
            }
            else
                result = await RunProcessAsync(key, run, pod, control, stepKey, killed).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return; // service stopping: the step goes on and is adopted after restart
        }
        catch (OperationCanceledException) when (control.Killed)
        {
            return; // killed before it started (shutdown, deadline): its node already says why
        }
        catch (Exception e)
        {
            var now = _time.GetUtcNow();
            result = new PodResult(pod.NodeId, NodePhase.Error, $"executor error: {e.Message}", null, null, now, now);
        }
        finally
        {
            lock (run.InFlight)
            {
                run.InFlight.Remove(pod.NodeId);
                if (run.Controls.Remove(pod.NodeId, out var ended)) ended.WaitForSlot.Dispose();
            }
        }
        Post(key, run, result);
        if (StepFinished is { } handler && wf.Status?.Nodes?.GetValueOrDefault(pod.NodeId) is { } node)
            handler(wf, node, stepKey);
    }

    /// <summary>A container or script step: its process in the sandbox, then its outputs (and, memoized, its cache entry).</summary>
    private async Task<PodResult> RunProcessAsync(string key, WorkflowRun run, PodRequest pod, PodControl control, StepKey stepKey, CancellationToken killed)
    {
        var wf = run.Operator.Workflow;
        var (spec, error) = await _specs.BuildAsync(wf, pod, _time, killed).ConfigureAwait(false);
        if (spec is null)
        {
            var now = _time.GetUtcNow();
            return new PodResult(pod.NodeId, NodePhase.Error, error, null, null, now, now);
        }
        // Spawning blocks until the child runs; off the reconcile loop it no longer holds up every other workflow.
        await Task.Yield();
        var outcome = await _executor.RunAsync(spec, () =>
        {
            MarkStarted(key, run, pod, control, killed);
            if (StepStarted is { } started && wf.Status?.Nodes?.GetValueOrDefault(pod.NodeId) is { } node) started(wf, node, stepKey);
        }, killed).ConfigureAwait(false);
        var result = await _outputs.CollectAsync(wf, pod, stepKey, outcome, killed).ConfigureAwait(false);
        return pod.Template.Memoize is null ? result : await _memo.RecordAsync(wf.NamespaceOrDefault, pod, result, killed).ConfigureAwait(false);
    }

    /// <summary>The step got its process slot: it is Running, unless it was killed while it waited (then no process may start).</summary>
    private void MarkStarted(string key, WorkflowRun run, PodRequest pod, PodControl control, CancellationToken killed)
    {
        lock (run.InFlight)
        {
            if (control.Killed) throw new OperationCanceledException(killed);
            control.Started = true;
        }
        Post(key, run, new PodResult(pod.NodeId, NodePhase.Running, null, null, null, _time.GetUtcNow(), default));
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
