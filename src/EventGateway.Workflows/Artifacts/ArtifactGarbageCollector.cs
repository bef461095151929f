using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// Argo's artifactGC: deletes OnWorkflowCompletion artifacts when a workflow finishes and OnWorkflowDeletion
/// ones (and any still left) when it is deleted from the store, whoever deletes it. Deleted artifacts are
/// marked <c>deleted: true</c> in the node's outputs; a failure to delete becomes an ArtifactGCError
/// condition on the workflow, or, once the workflow is gone, an error in the log.
/// </summary>
public sealed partial class ArtifactGarbageCollector(
    IResourceStore store, ArtifactStorage storage, IArtifactGCLedger ledger, ILogger<ArtifactGarbageCollector> log)
    : BackgroundService, IWorkflowObserver
{
    public const string ArtifactGCError = "ArtifactGCError";

    /// <summary>At most this many failures are spelled out in the condition; the rest are counted.</summary>
    private const int MaxReportedFailures = 5;

    // One pending job per workflow name however often it is announced, so the queue holds at most the workflows with
    // work outstanding; what that work is, the durable ledger and the store say when the job runs.
    private readonly Channel<(string Namespace, string Name)> _jobs =
        Channel.CreateUnbounded<(string, string)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Namespace, string Name), byte> _pending = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var watch = store.Watch("Workflow", c =>
        {
            if (c.Type == ChangeType.Deleted) Enqueue(c.Namespace, c.Name);
        });
        try
        {
            // What finished or was deleted while the service was down.
            foreach (var (ns, name) in ledger.Workflows().ToList())
                Enqueue(ns, name);
            await foreach (var (ns, name) in _jobs.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                _pending.TryRemove((ns, name), out _);
                try
                {
                    await CollectAsync(ns, name, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogCollectFailed(log, ns, name, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    // Only queued: the collection runs on this service's loop, not the controller's.
    void IWorkflowObserver.Completed(Workflow wf) => Enqueue(wf.NamespaceOrDefault, wf.Name);

    private void Enqueue(string ns, string name)
    {
        if (_pending.TryAdd((ns, name), 0)) _jobs.Writer.TryWrite((ns, name));
    }

    /// <summary>
    /// Whatever is due for this name now: everything of a workflow that is gone or was replaced (another uid), and the
    /// OnWorkflowCompletion artifacts of one that has completed.
    /// </summary>
    private async Task CollectAsync(string ns, string name, CancellationToken ct)
    {
        storage.ForgetInputs(ns, name);
        var entries = ledger.Entries(ns, name);
        if (entries.Count == 0) return;
        var wf = await store.GetAsync<Workflow>(ns, name, ct).ConfigureAwait(false);
        if (wf is null)
        {
            await CollectDeletedAsync(ns, name, ct).ConfigureAwait(false);
            return;
        }
        // Entries of an earlier workflow of the same name: that one is gone.
        var stale = entries.Where(e => e.Entry.Uid != (wf.Metadata.Uid ?? "")).ToList();
        await DeleteAsync(ns, name, stale, ct).ConfigureAwait(false);
        if (wf.Status?.IsCompleted != true) return; // retried or resubmitted meanwhile: it completes again later
        var due = entries.Except(stale).Where(e => e.Entry.Strategy == ArtifactGC.OnWorkflowCompletion).ToList();
        if (due.Count > 0) await RecordAsync(wf, await DeleteAsync(ns, name, due, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
    }

    private async Task CollectDeletedAsync(string ns, string name, CancellationToken ct)
    {
        storage.ForgetInputs(ns, name);
        await DeleteAsync(ns, name, ledger.Entries(ns, name), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes each entry's artifact and drops the entry either way: a failure is logged and returned for the
    /// workflow's status, not retried forever.
    /// </summary>
    private async Task<List<(ArtifactGCEntry Entry, string? Failure)>> DeleteAsync(
        string ns, string name, IReadOnlyList<(string Id, ArtifactGCEntry Entry)> entries, CancellationToken ct)
    {
        var outcomes = new List<(ArtifactGCEntry, string?)>();
        foreach (var (file, entry) in entries)
        {
            string? failure = null;
            try { await storage.DeleteAsync(ns, entry.Artifact, ct).ConfigureAwait(false); }
            catch (Exception e) when (e is ArtifactException or IOException or UnauthorizedAccessException)
            {
                failure = $"artifact '{entry.Artifact.Name}' of node {entry.NodeId}: {e.Message}";
                LogDeleteFailed(log, ns, name, failure);
            }
            ledger.Remove(file);
            outcomes.Add((entry, failure));
        }
        return outcomes;
    }

    /// <summary>Marks deleted artifacts in the node outputs and reports failures as a condition, retrying on a concurrent write.</summary>
    private async Task RecordAsync(Workflow wf, IReadOnlyList<(ArtifactGCEntry Entry, string? Failure)> outcomes, CancellationToken ct)
    {
        var failures = outcomes.Select(o => o.Failure).OfType<string>().ToList();
        for (var attempt = 0; ; attempt++)
        {
            foreach (var (entry, failure) in outcomes)
                if (failure is null && wf.Status?.Nodes?.GetValueOrDefault(entry.NodeId)?.Outputs?.Artifacts?.FirstOrDefault(a => a.Name == entry.Artifact.Name) is { } a)
                    a.Deleted = true;
            if (failures.Count > 0)
            {
                var conditions = wf.Status!.Conditions ??= [];
                conditions.RemoveAll(c => c.Type == ArtifactGCError);
                var more = failures.Count > MaxReportedFailures ? $"; and {failures.Count - MaxReportedFailures} more" : "";
                conditions.Add(new Condition { Type = ArtifactGCError, Status = "True", Message = string.Join("; ", failures.Take(MaxReportedFailures)) + more });
            }
            try
            {
                await store.UpdateAsync(wf, ct).ConfigureAwait(false);
                return;
            }
            catch (ConflictException) when (attempt < 3)
            {
                if (await store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name, ct).ConfigureAwait(false) is not { } fresh) return;
                wf = fresh;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "artifactGC of workflow {Namespace}/{Name} failed to delete {Failure}")]
    private static partial void LogDeleteFailed(ILogger log, string @namespace, string name, string failure);

    [LoggerMessage(Level = LogLevel.Error, Message = "artifactGC of workflow {Namespace}/{Name} failed")]
    private static partial void LogCollectFailed(ILogger log, string @namespace, string name, Exception e);
}
