using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Retention;

/// <summary>
/// Carries out what <see cref="RetentionPolicy"/> decides for finished work: archives each finished workflow,
/// removes pods' directories per podGC, deletes workflows per ttlStrategy (archived first), and keeps at most
/// <see cref="RetentionOptions.MaxFinishedWorkflows"/> finished workflows in the store (earliest finished deleted first,
/// archived first).
/// <para>
/// Bounded: one timer for the earliest due action over a due-ordered queue, not a timer per workflow; the queue
/// holds at most one collection and one expiry per workflow with one pending. Each action re-reads the workflow
/// and decides again from its stored finishedAt times, so a stale entry (retried, deleted, re-created under the
/// same name) does nothing wrong; and the queue is rebuilt from the store at start, so nothing is forgotten
/// across restarts.
/// </para>
/// </summary>
public sealed partial class WorkflowReaper : BackgroundService, IWorkflowObserver
{
    private enum Work { Collect, Expire, SweepArchive, Trim }

    private readonly record struct Due(Work What, string Key, string Uid);

    private readonly IResourceStore _store;
    private readonly IStepExecutor _executor;
    private readonly WorkflowDeleter _deleter;
    private readonly RetentionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly IWorkflowArchive? _archive;
    private readonly Lock _gate = new();
    private readonly PriorityQueue<Due, DateTimeOffset> _queue = new();
    /// <summary>The one live due time per (work, workflow); queue entries that disagree are stale and skipped.</summary>
    private readonly Dictionary<(Work, string), DateTimeOffset> _scheduled = [];
    /// <summary>Pods of running workflows already scheduled for collection, so a status save schedules only new ones.</summary>
    private readonly Dictionary<string, (string Uid, HashSet<string> Pods)> _seen = new(StringComparer.Ordinal);
    /// <summary>Finished workflows to archive; drained at once by the loop, so it holds only what is being written.</summary>
    private readonly ConcurrentQueue<Workflow> _toArchive = new();
    /// <summary>The finished workflows in the store, earliest finished first, when they are capped: at most the cap plus those finished since the last trim.</summary>
    private readonly FinishedWorkflows? _finished;
    private readonly Channel<byte> _wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ITimer _timer;
    private DateTimeOffset? _armedFor;

    public WorkflowReaper(IResourceStore store, IStepExecutor executor, WorkflowDeleter deleter,
        RetentionOptions options, TimeProvider time, ILogger<WorkflowReaper> log, IWorkflowArchive? archive = null)
    {
        (_store, _executor, _deleter, _options, _time, _log, _archive) = (store, executor, deleter, options, time, log, archive);
        if (options.MaxFinishedWorkflows is { } cap) _finished = new FinishedWorkflows(cap);
        _timer = time.CreateTimer(_ =>
        {
            lock (_gate) _armedFor = null;
            _wake.Writer.TryWrite(0);
        }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>When the next action is due; null when nothing is pending.</summary>
    public DateTimeOffset? NextDue
    {
        get { lock (_gate) return Peek(); }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var watch = _store.Watch("Workflow", OnChange);
        await ResumeAsync(stoppingToken).ConfigureAwait(false);
        try
        {
            await foreach (var _ in _wake.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                while (_toArchive.TryDequeue(out var wf)) await ArchiveAsync(wf, stoppingToken).ConfigureAwait(false);
                await TrimAsync(stoppingToken).ConfigureAwait(false);
                var now = _time.GetUtcNow();
                while (Take(now) is { } due)
                {
                    try
                    {
                        await RunAsync(due, now, stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        LogActionFailed(_log, due.What.ToString(), due.Key, e);
                        Schedule(due.What, due.Key, due.Uid, now + TimeSpan.FromMinutes(1));
                    }
                }
                Arm();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    /// <summary>Re-arms from the store what a previous run of the service left pending: archiving, podGC, TTL.</summary>
    private async Task ResumeAsync(CancellationToken ct)
    {
        foreach (var wf in await _store.ListAsync<Workflow>(null, ct).ConfigureAwait(false))
        {
            if (wf.Status?.IsCompleted != true) continue; // the controller resumes it; its saves and completion arrive here
            if (_archive is not null && !await _archive.ContainsAsync(wf.Metadata.Uid ?? "", ct).ConfigureAwait(false))
                await ArchiveAsync(wf, ct).ConfigureAwait(false);
            Finished(wf);
        }
        if (_options.Archive && _options.ArchiveTtl is not null) Schedule(Work.SweepArchive, "", "", _time.GetUtcNow());
        Arm();
        _wake.Writer.TryWrite(0); // the cap may have been lowered while the service was down
    }

    void IWorkflowObserver.StatusSaved(Workflow wf)
    {
        if (wf.Status?.IsCompleted == true || RetentionPolicy.PodGCOf(wf, _options) is not { } gc) return;
        var key = Key(wf.NamespaceOrDefault, wf.Name);
        var uid = wf.Metadata.Uid ?? "";
        DateTimeOffset? earliest = null;
        lock (_gate)
        {
            if (!_seen.TryGetValue(key, out var seen) || seen.Uid != uid) seen = (uid, new HashSet<string>(StringComparer.Ordinal));
            foreach (var node in wf.Status?.Nodes?.Values ?? Enumerable.Empty<NodeStatus>())
                if (!seen.Pods.Contains(node.Id) && RetentionPolicy.CollectAt(gc, wf, node) is { } at)
                {
                    seen.Pods.Add(node.Id);
                    if (earliest is null || at < earliest) earliest = at;
                }
            if (earliest is null) return;
            _seen[key] = seen;
        }
        Schedule(Work.Collect, key, uid, earliest.Value);
        Arm();
    }

    void IWorkflowObserver.Completed(Workflow wf)
    {
        if (_archive is not null) _toArchive.Enqueue(wf);
        Finished(wf);
        _wake.Writer.TryWrite(0);
    }

    /// <summary>A finished workflow's pending work: the first pod collection (the pass finds the rest) and its expiry.</summary>
    private void Finished(Workflow wf)
    {
        var key = Key(wf.NamespaceOrDefault, wf.Name);
        var uid = wf.Metadata.Uid ?? "";
        lock (_gate) _seen.Remove(key);
        if (wf.Status?.FinishedAt is { } finishedAt) _finished?.Add(key, uid, finishedAt);
        if (RetentionPolicy.PodGCOf(wf, _options) is { } gc
            && (wf.Status?.Nodes?.Values ?? Enumerable.Empty<NodeStatus>()).Select(n => RetentionPolicy.CollectAt(gc, wf, n)).Min() is { } first)
            Schedule(Work.Collect, key, uid, first);
        if (RetentionPolicy.ExpiresAt(wf, _options) is { } expires) Schedule(Work.Expire, key, uid, expires);
        Arm();
    }

    private void OnChange(ResourceChange c)
    {
        if (c.Type != ChangeType.Deleted) return;
        var key = Key(c.Namespace, c.Name);
        lock (_gate)
        {
            _seen.Remove(key);
            _scheduled.Remove((Work.Collect, key));
            _scheduled.Remove((Work.Expire, key));
        }
        _finished?.Remove(key);
    }

    private async Task RunAsync(Due due, DateTimeOffset now, CancellationToken ct)
    {
        if (due.What == Work.SweepArchive)
        {
            var dropped = await _archive!.DeleteFinishedBeforeAsync(now - _options.ArchiveTtl!.Value, ct).ConfigureAwait(false);
            if (dropped > 0) LogArchivePruned(_log, dropped, _options.ArchiveTtl.Value);
            Schedule(Work.SweepArchive, "", "", now + _options.ArchiveSweepInterval);
            return;
        }
        if (due.What == Work.Trim)
        {
            await TrimAsync(ct).ConfigureAwait(false);
            return;
        }
        var i = due.Key.IndexOf('/');
        var (ns, name) = (due.Key[..i], due.Key[(i + 1)..]);
        var wf = await _store.GetAsync<Workflow>(ns, name, ct).ConfigureAwait(false);
        if (wf is null || wf.Metadata.Uid != due.Uid) return; // gone, or a new workflow under the same name: it has its own entries
        if (due.What == Work.Collect) Collect(wf, now);
        else await ExpireAsync(wf, now, ct).ConfigureAwait(false);
    }

    /// <summary>Removes the directories of every pod the policy says is due, and waits for the next one.</summary>
    private void Collect(Workflow wf, DateTimeOffset now)
    {
        if (RetentionPolicy.PodGCOf(wf, _options) is not { } gc) return;
        DateTimeOffset? next = null;
        var removed = 0;
        foreach (var node in wf.Status?.Nodes?.Values ?? Enumerable.Empty<NodeStatus>())
        {
            if (RetentionPolicy.CollectAt(gc, wf, node) is not { } at) continue;
            if (at > now)
            {
                if (next is null || at < next) next = at;
                continue;
            }
            _executor.Forget(new StepKey(wf.NamespaceOrDefault, wf.Name, node.Id));
            removed++;
        }
        if (removed > 0) LogCollected(_log, wf.NamespaceOrDefault, wf.Name, removed, gc.Strategy);
        if (next is { } n) Schedule(Work.Collect, Key(wf.NamespaceOrDefault, wf.Name), wf.Metadata.Uid ?? "", n);
    }

    private async Task ExpireAsync(Workflow wf, DateTimeOffset now, CancellationToken ct)
    {
        if (RetentionPolicy.ExpiresAt(wf, _options) is not { } at) return; // retried and running again: completion re-arms it
        if (at > now)
        {
            Schedule(Work.Expire, Key(wf.NamespaceOrDefault, wf.Name), wf.Metadata.Uid ?? "", at);
            return;
        }
        if (await ArchiveAndDeleteAsync(wf, ct).ConfigureAwait(false))
            LogExpired(_log, wf.NamespaceOrDefault, wf.Name, wf.Status!.Phase!);
    }

    /// <summary>Deletes the earliest finished workflows while more than the cap are kept; the loop runs it after each completion.</summary>
    private async Task TrimAsync(CancellationToken ct)
    {
        while (_finished?.OverCap() is { } oldest)
        {
            var i = oldest.Key.IndexOf('/');
            var wf = await _store.GetAsync<Workflow>(oldest.Key[..i], oldest.Key[(i + 1)..], ct).ConfigureAwait(false);
            // Gone, re-created, or retried and running again: not a finished workflow to count (a completion adds it back).
            if (wf is null || wf.Metadata.Uid != oldest.Uid || wf.Status?.IsCompleted != true)
            {
                _finished.Remove(oldest.Key, oldest.Uid);
                continue;
            }
            try
            {
                if (await ArchiveAndDeleteAsync(wf, ct).ConfigureAwait(false))
                    LogCapped(_log, wf.NamespaceOrDefault, wf.Name, wf.Status.Phase!, _finished.Cap);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The store or archive is failing: try again in a minute rather than spinning here.
                LogActionFailed(_log, nameof(Work.Trim), oldest.Key, e);
                Schedule(Work.Trim, "", "", _time.GetUtcNow() + TimeSpan.FromMinutes(1));
                return;
            }
            _finished.Remove(oldest.Key, oldest.Uid);
        }
    }

    /// <summary>Never deletes what the archive has not got: the archive is what keeps it queryable afterwards.</summary>
    private async Task<bool> ArchiveAndDeleteAsync(Workflow wf, CancellationToken ct)
    {
        if (_archive is not null && !await _archive.ContainsAsync(wf.Metadata.Uid ?? "", ct).ConfigureAwait(false))
            await _archive.ArchiveAsync(wf, ct).ConfigureAwait(false);
        return await _deleter.DeleteAsync(wf.NamespaceOrDefault, wf.Name, ct).ConfigureAwait(false);
    }

    private async Task ArchiveAsync(Workflow wf, CancellationToken ct)
    {
        try
        {
            await _archive!.ArchiveAsync(wf, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Its expiry archives it again before deleting; until then it is still in the store.
            LogArchiveFailed(_log, wf.NamespaceOrDefault, wf.Name, e);
        }
    }

    /// <summary>Keeps the earlier of an existing and a new due time for the same work on the same workflow.</summary>
    private void Schedule(Work what, string key, string uid, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (_scheduled.TryGetValue((what, key), out var pending) && pending <= at) return;
            _scheduled[(what, key)] = at;
            _queue.Enqueue(new Due(what, key, uid), at);
        }
    }

    private Due? Take(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (Peek() is not { } at || at > now) return null;
            var due = _queue.Dequeue();
            _scheduled.Remove((due.What, due.Key));
            return due;
        }
    }

    /// <summary>The earliest live due time, dropping stale entries on the way (under the lock).</summary>
    private DateTimeOffset? Peek()
    {
        while (_queue.TryPeek(out var due, out var at))
        {
            if (_scheduled.TryGetValue((due.What, due.Key), out var live) && live == at) return at;
            _queue.Dequeue();
        }
        return null;
    }

    private void Arm()
    {
        lock (_gate)
        {
            if (Peek() is not { } at || at == _armedFor) return;
            _armedFor = at;
            var wait = at - _time.GetUtcNow();
            // A timer waits at most ~49 days (a ttlStrategy may say a year): it wakes the loop earlier, which re-arms.
            _timer.Change(wait <= TimeSpan.Zero ? TimeSpan.Zero : wait < LongestWait ? wait : LongestWait, Timeout.InfiniteTimeSpan);
        }
    }

    private static readonly TimeSpan LongestWait = TimeSpan.FromDays(1);

    private static string Key(string ns, string name) => $"{ns}/{name}";

    public override void Dispose()
    {
        _timer.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "podGC {Strategy}: removed {Count} pod(s) of workflow {Namespace}/{Name}")]
    private static partial void LogCollected(ILogger log, string @namespace, string name, int count, string strategy);

    [LoggerMessage(Level = LogLevel.Information, Message = "ttlStrategy: deleted {Phase} workflow {Namespace}/{Name}")]
    private static partial void LogExpired(ILogger log, string @namespace, string name, string phase);

    [LoggerMessage(Level = LogLevel.Information, Message = "--max-finished-workflows {Cap}: deleted the earliest finished workflow {Namespace}/{Name} ({Phase})")]
    private static partial void LogCapped(ILogger log, string @namespace, string name, string phase, int cap);

    [LoggerMessage(Level = LogLevel.Information, Message = "archive: dropped {Count} workflow(s) finished more than {Ttl} ago")]
    private static partial void LogArchivePruned(ILogger log, int count, TimeSpan ttl);

    [LoggerMessage(Level = LogLevel.Error, Message = "could not archive workflow {Namespace}/{Name}")]
    private static partial void LogArchiveFailed(ILogger log, string @namespace, string name, Exception e);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Work} of {Key} failed; trying again in a minute")]
    private static partial void LogActionFailed(ILogger log, string work, string key, Exception e);
}
