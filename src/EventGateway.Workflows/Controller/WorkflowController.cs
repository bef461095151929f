using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Workflows.Agent;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Memoization;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Replicas;
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

    /// <summary>
    /// Workflows reconciled at once (Argo's --workflow-workers). A pass waits for its status write and nothing else
    /// of that worker runs meanwhile: on 2 cores, 4 workers measured 414-419 one-step workflows/s against ~360/s
    /// with 1 (bench/workflows). Passes of different workflows may run in any order, so nothing may rely on one
    /// having been looked at before another (a restart restores lock waiters from the statuses for that reason).
    /// </summary>
    public int Workers { get; set; } = 4;
}

/// <summary>
/// The reconcile loop. Store changes, finished steps and timers only enqueue a workflow's key (once,
/// however often it is enqueued); <see cref="ControllerOptions.Workers"/> workers take keys and run an operator
/// pass for that workflow, never two passes of one workflow at once.
/// Running workflows stay in memory with their operator; status is saved throttled, and always on completion.
/// </summary>
public sealed partial class WorkflowController : BackgroundService
{
    private readonly IResourceStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ControllerOptions _options;
    private readonly SemaphoreLimits _limits;
    private readonly LockTable _locks;
    private readonly WorkflowObservers _observers;
    private readonly StepRunner _steps;
    private readonly ParameterConfigMaps _configMaps;
    private readonly WorkQueue _queue;
    private readonly ConcurrentDictionary<string, WorkflowRun> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ITimer> _retryTimers = new(StringComparer.Ordinal);
    private readonly IOwnership _ownership;
    private readonly IStepClaims _claims;
    private readonly ILeaseClaim?[] _shards = new ILeaseClaim?[WorkflowShards.Count];
    private readonly ITimer? _sharedRetry;
    private readonly ISharedLocks? _sharedLocks;
    private CancellationToken _stopping;

    public WorkflowController(IResourceStore store, IStepExecutor executor, StepSpecBuilder specs, OutputCollector outputs,
        TimeProvider time, ILogger<WorkflowController> log, ControllerOptions? options = null, IEnumerable<ITemplateRunner>? runners = null,
        IEnumerable<IWorkflowObserver>? observers = null, Prometheus.CollectorRegistry? metrics = null, IOwnership? ownership = null,
        IStepClaims? claims = null, ISharedLocks? sharedLocks = null)
    {
        (_store, _time, _log) = (store, time, log);
        _ownership = ownership ?? SoleOwnership.Instance;
        _claims = claims ?? NoStepClaims.Instance;
        Metrics = new ControllerMetrics(metrics);
        _queue = new WorkQueue(Metrics);
        _options = options ?? new ControllerOptions();
        _limits = new SemaphoreLimits(store, log);
        _sharedLocks = sharedLocks;
        _locks = new LockTable(key => _queue.Add(key, urgent: true), _limits.Read, sharedLocks) { Taken = Metrics.LockTaken }; // waiters a release lets in
        Metrics.Follow(_locks);
        // Holders on other replicas release without telling this one: their waiters here ask again every second.
        if (sharedLocks is not null) _sharedRetry = time.CreateTimer(_ => _locks.RetrySharedWaiters(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        _observers = new WorkflowObservers([Metrics, .. observers ?? []]);
        _configMaps = new ParameterConfigMaps(store);
        _steps = new StepRunner(executor, specs, outputs, new MemoCache(store, time, log), runners ?? [], time, _observers, _ownership, _claims);
    }

    public ControllerMetrics Metrics { get; }

    /// <summary>Adds an observer after construction (those known up front come in through the constructor); disposing the result removes it.</summary>
    public IDisposable Observe(IWorkflowObserver observer) => _observers.Add(observer);

    private sealed class WorkflowRun
    {
        public WorkflowRun(WorkflowOperator op, Func<WorkflowRun, StatusSaver> saver, Func<WorkflowRun, PodLauncher> pods)
        {
            Operator = op;
            Saver = saver(this);
            Pods = pods(this);
        }

        public WorkflowOperator Operator { get; set; }
        public StatusSaver Saver { get; }
        public PodLauncher Pods { get; }
        /// <summary>What the pods reported since the last pass took it in.</summary>
        public ConcurrentQueue<PodResult> Results { get; } = new();
        /// <summary>The newest resourceVersion the store announced; newer than ours means someone else wrote.</summary>
        public long StoreVersion;
        public ITimer? Wake { get; set; }
        public DateTimeOffset? WakeAt { get; set; }
        /// <summary>ConfigMaps its parameters take values from (<see cref="ParameterConfigMaps.Referenced"/>), found once.</summary>
        public IReadOnlyList<string>? ConfigMapNames { get; set; }

        /// <summary>
        /// What others may change on a running workflow: metadata, spec.suspend, spec.shutdown, and the outcome of
        /// waiting suspend nodes (resume). The rest of the status is ours and newer than the stored one.
        /// </summary>
        public void AdoptOutsideChanges(Workflow fresh)
        {
            var wf = Operator.Workflow;
            wf.Metadata = fresh.Metadata;
            wf.Spec.Suspend = fresh.Spec.Suspend;
            wf.Spec.Shutdown = fresh.Spec.Shutdown;
            Operator.AdoptSuspendDecisions(fresh.Status);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        using var watch = _store.Watch("Workflow", OnChange);
        using var limits = _limits.Follow(_locks);
        for (var i = 0; i < WorkflowShards.Count; i++)
        {
            var shard = i;
            _shards[i] = _ownership.Claim(WorkflowShards.LeaseName(i), () => ShardChanged(shard), () => ShardIdle(shard));
            if (_shards[i]!.Held) _shardsToAdopt[i] = true;
        }
        foreach (var wf in await _store.ListAsync<Workflow>(null, stoppingToken).ConfigureAwait(false))
            Metrics.Known(wf);
        try
        {
            await AdoptShardsAsync(stoppingToken).ConfigureAwait(false);
            await Task.WhenAll(Enumerable.Range(0, Math.Max(1, _options.Workers)).Select(_ => Task.Run(() => WorkAsync(stoppingToken), CancellationToken.None)))
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally
        {
            // Save what is known; steps keep running and are adopted after a restart.
            foreach (var (key, run) in _runs)
                if (run.Saver.Dirty && Owns(key)) await TrySaveAsync(run, CancellationToken.None).ConfigureAwait(false);
            foreach (var claim in _shards) claim?.Dispose();
            _sharedRetry?.Dispose();
        }
    }

    /// <summary>Whether this replica runs the workflow: it holds the lease of its shard (always, in the embedded mode).</summary>
    private bool Owns(string key)
    {
        var (ns, name) = Split(key);
        return _shards[WorkflowShards.Of(ns, name)]?.Held == true;
    }

    private bool ShardIdle(int shard) => !_runs.Keys.Any(k => Split(k) is var (ns, name) && WorkflowShards.Of(ns, name) == shard);

    private readonly ConcurrentDictionary<int, bool> _shardsToAdopt = new();
    private readonly SemaphoreSlim _adopting = new(1, 1);

    /// <summary>A shard gained is adopted (its unfinished workflows read and queued); a shard lost is stopped at once.</summary>
    private void ShardChanged(int shard)
    {
        if (_shards[shard] is not { } claim) return;
        if (claim.Held)
        {
            _shardsToAdopt[shard] = true;
            _ = Task.Run(async () =>
            {
                try { await AdoptShardsAsync(_stopping).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException) { LogAdoptFailed(_log, e); }
            }, CancellationToken.None);
            return;
        }
        foreach (var (key, run) in _runs)
        {
            var (ns, name) = Split(key);
            if (WorkflowShards.Of(ns, name) != shard || !_runs.TryRemove(new KeyValuePair<string, WorkflowRun>(key, run))) continue;
            // Its steps stop before another replica may take the shard; that one ends them as lost and retries them.
            EndDeleted(run);
            _locks.ReleaseWorkflow(ns, name);
            LogShardLost(_log, key);
        }
    }

    /// <summary>Queues every unfinished workflow of the shards gained since the last call (at start: every shard held).</summary>
    private async Task AdoptShardsAsync(CancellationToken ct)
    {
        await _adopting.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var shards = new HashSet<int>();
            foreach (var s in _shardsToAdopt.Keys.ToList())
                if (_shardsToAdopt.TryRemove(s, out _)) shards.Add(s);
            if (shards.Count == 0) return;
            // Places a dead replica took for workflows of these shards go; the statuses below say which are still held.
            _sharedLocks?.ForgetOthers(holder => holder.Split('/') is [var hns, var hname, ..] && shards.Contains(WorkflowShards.Of(hns, hname)));
            // So do the places under the process cap its steps held: their processes went with it.
            await _claims.ReleaseOthersAsync(shards, _ownership.ReplicaId, ct).ConfigureAwait(false);
            var adopted = (await _store.ListAsync<Workflow>(null, ct).ConfigureAwait(false))
                .Where(wf => wf.Status?.IsCompleted != true && shards.Contains(WorkflowShards.Of(wf.NamespaceOrDefault, wf.Name)))
                .ToList();
            // Every lock restored before any pass: locks held before a restart (or by the replica before us) stay held by
            // the workflows still running. Queued one by one, a waiter listed before its holder could take the free lock first.
            foreach (var wf in adopted) _locks.Restore(wf);
            foreach (var wf in adopted) Enqueue(Key(wf.NamespaceOrDefault, wf.Name));
        }
        finally
        {
            _adopting.Release();
        }
    }

    /// <summary>One worker: passes of different workflows run side by side, never two of one workflow.</summary>
    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            var key = await _queue.TakeAsync(stoppingToken).ConfigureAwait(false);
            try
            {
                await ReconcileAsync(key, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogReconcileFailed(_log, key, e);
                Metrics.Error("OperationPanic");
                ScheduleWake(key, _time.GetUtcNow() + TimeSpan.FromSeconds(1));
            }
            finally
            {
                _queue.Done(key);
            }
        }
    }

    private void OnChange(ResourceChange c)
    {
        var key = Key(c.Namespace, c.Name);
        if (!Owns(key)) return; // another replica's: a shard lost meanwhile ended its runs already
        if (c.Type == ChangeType.Deleted)
        {
            Metrics.Deleted(c.Namespace, c.Name);
            if (_runs.TryRemove(key, out var run)) EndDeleted(run);
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

    private static void EndDeleted(WorkflowRun run)
    {
        run.Wake?.Dispose();
        run.Saver.Dispose();
        run.Pods.KillAll();
    }

    private static long VersionOf(Workflow wf) =>
        long.TryParse(wf.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0;

    private void Enqueue(string key) => _queue.Add(key);

    private async Task ReconcileAsync(string key, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var results = new List<PodResult>();
        try { await ReconcileAsync(key, results, ct).ConfigureAwait(false); }
        finally { Metrics.Pass(started, results.Count); }
    }

    private async Task ReconcileAsync(string key, List<PodResult> results, CancellationToken ct)
    {
        if (!Owns(key)) return;
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
            run = new WorkflowRun(new WorkflowOperator(wf, _time) { Locks = _locks, Limits = _options.Limits },
                r => new StatusSaver(_store, _time, _options.SaveInterval, _observers, wf, () => Enqueue(key), r.AdoptOutsideChanges),
                r => new PodLauncher(_steps, _observers, _time, wf, result => Post(key, r, result), _stopping));
            _runs[key] = run;
            // A deletion that came after the read above found no run to end: read again now that the run is
            // registered (a later deletion ends it through OnChange), or the pods launched below would outlive it.
            if (await _store.GetAsync<Workflow>(ns, name, ct).ConfigureAwait(false) is not { } still || still.Metadata.Uid != wf.Metadata.Uid)
            {
                if (_runs.TryRemove(new KeyValuePair<string, WorkflowRun>(key, run))) EndDeleted(run);
                _locks.ReleaseWorkflow(ns, name);
                return;
            }
        }
        else if (Volatile.Read(ref run.StoreVersion) > VersionOf(run.Operator.Workflow))
        {
            var (ns, name) = Split(key);
            if (await _store.GetAsync<Workflow>(ns, name, ct).ConfigureAwait(false) is not { } fresh) return; // deleted: OnChange ends the run
            run.AdoptOutsideChanges(fresh);
        }

        while (run.Results.TryDequeue(out var r)) results.Add(r);
        var before = run.Operator.Workflow.Status?.Phase;
        OperateResult outcome;
        run.ConfigMapNames ??= ParameterConfigMaps.Referenced(run.Operator.Workflow);
        if (run.ConfigMapNames.Count > 0)
            run.Operator.ConfigMaps = await _configMaps.ReadAsync(run.Operator.Workflow.NamespaceOrDefault, run.ConfigMapNames, ct).ConfigureAwait(false);
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
        if (!_runs.ContainsKey(key)) _locks.ReleaseWorkflow(wfNow.NamespaceOrDefault, wfNow.Name); // deleted during the pass

        run.Pods.Launch(outcome.Pods);
        if (outcome.PodsToKill.Count > 0) run.Pods.Kill(outcome.PodsToKill);
        if (outcome.RequeueAt is { } at) ScheduleWake(key, at, run);

        await run.Saver.PassedAsync(before, outcome.Completed, ct).ConfigureAwait(false);

        if (outcome.Completed)
        {
            _runs.TryRemove(key, out _);
            run.Wake?.Dispose();
            run.Saver.Dispose();
            _locks.ReleaseWorkflow(wfNow.NamespaceOrDefault, wfNow.Name);
            LogCompleted(_log, key, wfNow.Status!.Phase!);
            _observers.Completed(wfNow);
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
        _observers.Completed(wf);
    }

    /// <summary>
    /// A retry runs some steps again under their old node ids: their finished processes are discarded first,
    /// or the executor would adopt the old outcome. Done before the run starts, and recorded as done (the
    /// annotation removed) before any step starts, so a crash in between only repeats the discarding.
    /// </summary>
    private async Task DiscardRetriedStepsAsync(Workflow wf, CancellationToken ct)
    {
        var nodes = wf.Metadata.Annotations![WorkflowControls.PodsToDeleteAnnotation].Split(',', StringSplitOptions.RemoveEmptyEntries);
        _steps.Discard(wf, nodes);
        if (wf.Metadata.Uid is { } uid) await _claims.ForgetAsync(uid, nodes, ct).ConfigureAwait(false);
        wf.Metadata.Annotations.Remove(WorkflowControls.PodsToDeleteAnnotation);
        if (wf.Metadata.Annotations.Count == 0) wf.Metadata.Annotations = null;
        try { await _store.UpdateAsync(wf, ct).ConfigureAwait(false); }
        catch (ConflictException) { } // changed meanwhile: the next pass reads it and discards again
    }

    private async Task TrySaveAsync(WorkflowRun run, CancellationToken ct)
    {
        try { await run.Saver.SaveAsync(ct).ConfigureAwait(false); }
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

    /// <summary>
    /// A step's news for the workflow's next pass. Its end (or a daemon's readiness, which lets its scope go on) is
    /// urgent; that it started is not: with workflows queued it is taken in by the pass of the step's end when the step
    /// is short (one pass, not two, for a one-step workflow: measured ~10 % fewer passes), and by its own pass otherwise.
    /// </summary>
    private void Post(string key, WorkflowRun run, PodResult result)
    {
        run.Results.Enqueue(result);
        _queue.Add(key, urgent: result.Phase is not (NodePhase.Running or NodePhase.Pending) || result.Daemoned);
    }

    private static string Key(string ns, string name) => $"{ns}/{name}";

    private static (string Ns, string Name) Split(string key)
    {
        var i = key.IndexOf('/');
        return (key[..i], key[(i + 1)..]);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "reconcile of {Key} failed; retrying")]
    private static partial void LogReconcileFailed(ILogger log, string key, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "workflow {Key}: its shard's lease was lost; stopped here, another replica takes it over")]
    private static partial void LogShardLost(ILogger log, string key);

    [LoggerMessage(Level = LogLevel.Error, Message = "adopting the workflows of a shard failed")]
    private static partial void LogAdoptFailed(ILogger log, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not save status of {Name}")]
    private static partial void LogSaveFailed(ILogger log, string name, Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "workflow {Key} {Phase}")]
    private static partial void LogCompleted(ILogger log, string key, string phase);
}
