using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Languages.Expr;
using EventGateway.Languages.Govaluate;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Retention;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;
using EventGateway.Workflows.Validation;

namespace EventGateway.Workflows.Schedules;

/// <summary>
/// Runs CronWorkflows: watches them and the workflows they created, and on each pass over one (a change, or its timer
/// at the next tick) syncs the active list and counters, deletes finished workflows beyond the history limits, asks
/// <see cref="CronPlanner"/> what to do and does it. A tick's workflow is named <c>NAME-UNIXSECONDS</c>, so a crash
/// between creating it and saving the status finds it again instead of creating a second one. The status, saved in the
/// store, is what survives a restart; what is kept in memory only says since when this process has been watching.
/// </summary>
public sealed partial class CronScheduler(IResourceStore store, WorkflowSubmitter submitter, WorkflowControls operations,
    WorkflowDeleter deleter, TimeProvider time, ILogger<CronScheduler> logger, Prometheus.CollectorRegistry? metrics = null) : BackgroundService
{
    private readonly CronMetrics _metrics = new(metrics);

    public const string ScheduledTimeAnnotation = "workflows.argoproj.io/scheduled-time";
    public const int DefaultSuccessfulHistory = 3;
    public const int DefaultFailedHistory = 1;

    /// <summary>Longest single wait: a far tick is waited for in steps, so a wall-clock change is noticed.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromHours(1);

    private readonly Channel<(string Ns, string Name)> _changes = Channel.CreateUnbounded<(string, string)>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>Keys queued and not yet taken: a key is queued once however often it changes, so the queue holds at most one entry per CronWorkflow.</summary>
    private readonly ConcurrentDictionary<(string Ns, string Name), byte> _queued = new();
    private readonly ConcurrentDictionary<(string Ns, string Name), Watched> _watched = new();
    /// <summary>Running workflow → its CronWorkflow, so a workflow's change wakes only its own CronWorkflow.</summary>
    private readonly ConcurrentDictionary<(string Ns, string Name), string> _activeOwners = new();

    /// <summary>What this process knows about one CronWorkflow beyond its stored status.</summary>
    private sealed class Watched
    {
        public string? Uid;
        public string? Schedule;
        public DateTimeOffset LiveSince;
        /// <summary>Set when the schedule changed: ticks of the new schedule before this are not missed, they never were.</summary>
        public DateTimeOffset? Floor;
        public bool Suspended;
        public long? WarnedGeneration;
        public ITimer? Timer;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var crons = store.Watch("CronWorkflow", c => Enqueue((c.Namespace, c.Name)));
        using var workflows = store.Watch("Workflow", c =>
        {
            if (_activeOwners.TryGetValue((c.Namespace, c.Name), out var owner)) Enqueue((c.Namespace, owner));
        });
        foreach (var c in await store.ListAsync<CronWorkflow>(ct: stoppingToken).ConfigureAwait(false))
            Enqueue((c.NamespaceOrDefault, c.Name));
        try
        {
            await foreach (var key in _changes.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                _queued.TryRemove(key, out _);
                try
                {
                    await ReconcileAsync(key.Ns, key.Name, stoppingToken).ConfigureAwait(false);
                }
                catch (ConflictException)
                {
                    Enqueue(key); // changed under us: read it again
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogReconcileFailed(logger, e, key.Ns, key.Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally
        {
            foreach (var w in _watched.Values) w.Timer?.Dispose();
            _watched.Clear(); // a replica that runs the schedules again (its lease regained) starts from the store, not from dead timers
        }
    }

    /// <summary>One pass over a CronWorkflow; the hosted loop calls it on every change and timer, tests call it directly.</summary>
    /// <exception cref="ConflictException">the CronWorkflow changed while this pass ran; run it again.</exception>
    public async Task ReconcileAsync(string ns, string name, CancellationToken ct = default)
    {
        var key = (ns, name);
        var cron = await store.GetAsync<CronWorkflow>(ns, name, ct).ConfigureAwait(false);
        if (cron is null)
        {
            if (_watched.TryRemove(key, out var gone)) gone.Timer?.Dispose();
            return;
        }
        var now = time.GetUtcNow();
        var watched = _watched.GetOrAdd(key, _ => new Watched { LiveSince = now });
        if (watched.Uid != cron.Metadata.Uid) (watched.Uid, watched.Schedule, watched.LiveSince, watched.Floor) = (cron.Metadata.Uid, null, now, null);
        var before = cron.Status is null ? "" : JsonSerializer.Serialize(cron.Status, Json.Options);
        // The store keeps a status across re-applied manifests (a subresource), so none means a new CronWorkflow.
        var status = cron.Status ?? new CronWorkflowStatus();
        status.Phase ??= "Active";

        // Checked again here: the store may hold what no validator saw (written by another client or an older version).
        var specErrors = new List<string>();
        WorkflowValidator.Manifests.Validate(cron, (path, reason) => specErrors.Add($"{path}: {reason}"));
        var schedule = specErrors.Count == 0 ? CronSchedule.TryParse(cron.Spec, time.LocalTimeZone, (_, _) => { }) : null;
        SetCondition(status, "SpecError", specErrors.Count == 0 ? null : string.Join("; ", specErrors));
        var warning = CronWorkflowConversion.Warning(cron);
        SetCondition(status, "SpecWarning", warning);
        if (warning is not null && watched.WarnedGeneration != cron.Metadata.Generation)
        {
            watched.WarnedGeneration = cron.Metadata.Generation;
            LogDeprecatedSchedule(logger, ns, warning);
        }

        var children = (await store.ListAsync<Workflow>(ns, ct).ConfigureAwait(false))
            .Where(w => w.Metadata.Labels?.GetValueOrDefault(WorkflowSources.CronWorkflowLabel) == name).ToList();
        CountFinished(status, children);
        await DeleteHistoryAsync(cron, children, ct).ConfigureAwait(false);
        var active = children.Where(w => w.Status?.IsCompleted != true).OrderBy(w => w.Metadata.CreationTimestamp).ToList();

        var suspended = cron.Spec.Suspend == true;
        if (watched.Suspended && !suspended) watched.LiveSince = now;
        watched.Suspended = suspended;
        if (schedule is not null && watched.Schedule != schedule.Description)
        {
            if (watched.Schedule is not null) (watched.LiveSince, watched.Floor) = (now, now);
            watched.Schedule = schedule.Description;
        }

        DateTimeOffset? wake = null;
        if (schedule is not null && !suspended)
        {
            // A workflow created for a tick whose status update was lost (crash) still says which tick it was.
            var lastCreated = children.Select(ScheduledTime).Max();
            if (lastCreated > status.LastScheduledTime || status.LastScheduledTime is null) status.LastScheduledTime = lastCreated;
            var cursor = Max(Max(status.LastScheduledTime, status.LastSkippedTime), watched.Floor)
                ?? cron.Metadata.CreationTimestamp ?? now;
            var decision = CronPlanner.Decide(cron.Spec, schedule, now, cursor, watched.LiveSince, active.Select(w => w.Name).ToList(),
                () => WhenRefusal(cron, status));
            if (decision.Run) active = await RunAsync(cron, decision, active, status, ct).ConfigureAwait(false);
            else if (decision.Tick is { } skipped)
            {
                if (decision.Forbidden) _metrics.PolicyTriggered(ns, name, "Forbid");
                status.LastSkippedTime = skipped;
                SetCondition(status, "Skipped", $"tick {skipped:O} skipped: {decision.SkipReason}");
                LogSkipped(logger, ns, name, skipped, decision.SkipReason!);
            }
            wake = decision.Wake;
        }
        status.Active = active.Count == 0 ? null : active.Select(Reference).ToList();

        foreach (var (owner, _) in _activeOwners.Where(p => p.Key.Ns == ns && p.Value == name).ToList()) _activeOwners.TryRemove(owner, out _);
        foreach (var w in active) _activeOwners[(ns, w.Name)] = name;
        Arm(key, watched, wake, now);

        if (JsonSerializer.Serialize(status, Json.Options) != before)
        {
            cron.Status = status;
            await store.UpdateAsync(cron, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Creates the tick's workflow (after terminating the running ones under Replace); returns the active list.</summary>
    private async Task<List<Workflow>> RunAsync(CronWorkflow cron, CronDecision decision, List<Workflow> active, CronWorkflowStatus status, CancellationToken ct)
    {
        var tick = decision.Tick!.Value;
        _metrics.Triggered(cron.NamespaceOrDefault, cron.Name);
        if (decision.ReplaceActive)
        {
            _metrics.PolicyTriggered(cron.NamespaceOrDefault, cron.Name, "Replace");
            foreach (var old in active)
            {
                try { await operations.TerminateAsync(old.NamespaceOrDefault, old.Name, ct).ConfigureAwait(false); }
                catch (Exception e) when (e is WorkflowControlException or NotFoundException) { } // it ended meanwhile
                LogReplaced(logger, old.NamespaceOrDefault, old.Name, cron.Name);
            }
            // They stay in the active list until the controller has ended them, then count as failed.
        }
        var wf = ForTick(cron, tick);
        try
        {
            var created = await submitter.SubmitAsync(wf, source: $"CronWorkflow {cron.NamespaceOrDefault}/{cron.Name}", ct: ct).ConfigureAwait(false);
            active.Add(created);
            LogCreated(logger, created.NamespaceOrDefault, created.Name, cron.Name, tick);
            SetCondition(status, "SubmissionError", null);
        }
        catch (ConflictException)
        {
            var existing = await store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name, ct).ConfigureAwait(false);
            if (existing?.Metadata.Labels?.GetValueOrDefault(WorkflowSources.CronWorkflowLabel) != cron.Name)
            {
                SetCondition(status, "SubmissionError", $"tick {tick:O}: a workflow named {wf.Name} exists and was not created by this CronWorkflow");
                _metrics.SubmissionFailed();
                status.LastSkippedTime = tick;
                return active;
            }
            // Created by an earlier pass over this tick; nothing more to do.
            if (existing.Status?.IsCompleted != true && active.All(a => a.Name != existing.Name)) active.Add(existing);
        }
        catch (ManifestException e)
        {
            SetCondition(status, "SubmissionError", $"tick {tick:O}: {e.Message}");
            _metrics.SubmissionFailed();
            LogSubmissionFailed(logger, cron.NamespaceOrDefault, cron.Name, e.Message);
            status.LastSkippedTime = tick;
            return active;
        }
        status.LastScheduledTime = tick;
        return active;
    }

    /// <summary>The workflow for one tick, as Argo names it: <c>NAME-UNIXSECONDS</c>, with the tick in an annotation.</summary>
    public static Workflow ForTick(CronWorkflow cron, DateTimeOffset tick)
    {
        var wf = WorkflowSources.FromCron(cron);
        wf.Metadata.Name = $"{cron.Name}-{tick.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";
        wf.Metadata.GenerateName = null;
        (wf.Metadata.Annotations ??= [])[ScheduledTimeAnnotation] = tick.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return wf;
    }

    /// <summary>A workflow that was active at the last pass and is finished now counts once, as succeeded or failed.</summary>
    private static void CountFinished(CronWorkflowStatus status, List<Workflow> children)
    {
        foreach (var reference in status.Active ?? [])
        {
            var child = children.FirstOrDefault(w => w.Name == reference?["name"]?.GetValue<string>());
            if (child?.Status?.IsCompleted != true) continue;
            if (child.Status.Phase == WorkflowPhase.Succeeded) status.Succeeded = (status.Succeeded ?? 0) + 1;
            else status.Failed = (status.Failed ?? 0) + 1;
        }
    }

    /// <summary>Keeps the newest <c>successfulJobsHistoryLimit</c> succeeded and <c>failedJobsHistoryLimit</c> failed workflows.</summary>
    private async Task DeleteHistoryAsync(CronWorkflow cron, List<Workflow> children, CancellationToken ct)
    {
        var finished = children.Where(w => w.Status?.IsCompleted == true)
            .OrderByDescending(w => w.Status!.FinishedAt ?? w.Metadata.CreationTimestamp).ToList();
        var excess = finished.Where(w => w.Status!.Phase == WorkflowPhase.Succeeded).Skip(cron.Spec.SuccessfulJobsHistoryLimit ?? DefaultSuccessfulHistory)
            .Concat(finished.Where(w => w.Status!.Phase != WorkflowPhase.Succeeded).Skip(cron.Spec.FailedJobsHistoryLimit ?? DefaultFailedHistory)).ToList();
        foreach (var old in excess)
        {
            if (await deleter.DeleteAsync(old.NamespaceOrDefault, old.Name, ct).ConfigureAwait(false))
                LogHistoryDeleted(logger, old.NamespaceOrDefault, old.Name, cron.Name);
            children.Remove(old);
        }
    }

    /// <summary>Argo's <c>when</c>: rendered with the <c>cronworkflow.*</c> variables, then evaluated; false or an error skips the tick.</summary>
    private static string? WhenRefusal(CronWorkflow cron, CronWorkflowStatus status)
    {
        if (string.IsNullOrWhiteSpace(cron.Spec.When)) return null;
        var scope = new VariableScope();
        scope["cronworkflow.name"] = cron.Name;
        scope["cronworkflow.namespace"] = cron.NamespaceOrDefault;
        scope["cronworkflow.succeeded"] = (status.Succeeded ?? 0).ToString(CultureInfo.InvariantCulture);
        scope["cronworkflow.failed"] = (status.Failed ?? 0).ToString(CultureInfo.InvariantCulture);
        if (status.LastScheduledTime is { } last) scope["cronworkflow.lastScheduledTime"] = last.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        foreach (var (k, v) in cron.Metadata.Labels ?? []) scope[$"cronworkflow.labels.{k}"] = v;
        foreach (var (k, v) in cron.Metadata.Annotations ?? []) scope[$"cronworkflow.annotations.{k}"] = v;
        try
        {
            return WhenCondition.Evaluate(scope.RenderStrict(cron.Spec.When)) ? null : $"when '{cron.Spec.When}' is false";
        }
        catch (Exception e) when (e is ExpressionException or UnresolvedVariableException)
        {
            return $"spec.when: {e.Message}";
        }
    }

    private void Arm((string Ns, string Name) key, Watched watched, DateTimeOffset? wake, DateTimeOffset now)
    {
        if (wake is null)
        {
            watched.Timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var due = wake.Value - now;
        due = due < TimeSpan.Zero ? TimeSpan.Zero : due > MaxWait ? MaxWait : due;
        watched.Timer ??= time.CreateTimer(_ => Enqueue(key), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        watched.Timer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private void Enqueue((string Ns, string Name) key)
    {
        if (_queued.TryAdd(key, 0)) _changes.Writer.TryWrite(key);
    }

    private static DateTimeOffset? ScheduledTime(Workflow w) =>
        w.Metadata.Annotations?.GetValueOrDefault(ScheduledTimeAnnotation) is { } s
        && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;

    private static JsonNode Reference(Workflow w) => new JsonObject
    {
        ["apiVersion"] = Resources.ArgoApiVersion,
        ["kind"] = "Workflow",
        ["namespace"] = w.NamespaceOrDefault,
        ["name"] = w.Name,
        ["uid"] = w.Metadata.Uid,
    };

    /// <summary>Sets or (with a null message) removes the condition of a type.</summary>
    private static void SetCondition(CronWorkflowStatus status, string type, string? message)
    {
        status.Conditions?.RemoveAll(c => c.Type == type);
        if (message is not null) (status.Conditions ??= []).Add(new Condition { Type = type, Status = "True", Message = message });
        if (status.Conditions is { Count: 0 }) status.Conditions = null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "CronWorkflow {Namespace}/{Cron}: created workflow {Name} for tick {Tick:O}")]
    private static partial void LogCreated(ILogger log, string @namespace, string name, string cron, DateTimeOffset tick);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CronWorkflow {Namespace}/{Cron}: tick {Tick:O} skipped: {Reason}")]
    private static partial void LogSkipped(ILogger log, string @namespace, string cron, DateTimeOffset tick, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "workflow {Namespace}/{Name} terminated: CronWorkflow {Cron} has concurrencyPolicy Replace")]
    private static partial void LogReplaced(ILogger log, string @namespace, string name, string cron);

    [LoggerMessage(Level = LogLevel.Information, Message = "workflow {Namespace}/{Name} deleted: beyond the history limits of CronWorkflow {Cron}")]
    private static partial void LogHistoryDeleted(ILogger log, string @namespace, string name, string cron);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CronWorkflow {Namespace}/{Cron}: workflow refused: {Reason}")]
    private static partial void LogSubmissionFailed(ILogger log, string @namespace, string cron, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Namespace}: {Warning}")]
    private static partial void LogDeprecatedSchedule(ILogger log, string @namespace, string warning);

    [LoggerMessage(Level = LogLevel.Error, Message = "CronWorkflow {Namespace}/{Name}: reconcile failed")]
    private static partial void LogReconcileFailed(ILogger log, Exception e, string @namespace, string name);
}
