using EventGateway.Model;
using EventGateway.Workflows.Agent;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Memoization;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// Runs one pod to its result: its memoized result if there is one, an http or resource template in process, a
/// containerSet's containers, or a container or script step's process through the executor. Which pods run and
/// which are killed is the <see cref="PodLauncher"/>'s to decide; this reports through the pod it is given.
/// </summary>
internal sealed class StepRunner(IStepExecutor executor, StepSpecBuilder specs, OutputCollector outputs, MemoCache memo,
    IEnumerable<ITemplateRunner> runners, TimeProvider time, IWorkflowObserver observer, IOwnership ownership, IStepClaims claims)
{
    private readonly Dictionary<TemplateType, ITemplateRunner> _runners = runners.ToDictionary(r => r.Type);
    private readonly GlobalProcessSlots _slots = new(claims, ownership, time);

    public IStepExecutor Executor => executor;

    /// <exception cref="OperationCanceledException">the pod was killed, or the service is stopping.</exception>
    public async Task<PodResult> RunAsync(Workflow wf, PodLauncher.Pod pod, CancellationToken killed)
    {
        var request = pod.Request;
        // A step that had started before a restart is adopted, not looked up again.
        var lookUp = request.Template.Memoize is not null && wf.Status?.Nodes?.GetValueOrDefault(request.NodeId)?.Phase != NodePhase.Running;
        if (lookUp && await memo.LookUpAsync(wf.NamespaceOrDefault, request, killed).ConfigureAwait(false) is { } cached)
            return cached; // a hit (or an unusable cache) is the step's result: nothing runs
        // http and resource templates run here, not as a process; they hold no slot, so a kill always cancels them.
        if (request.Template.ContainerSet is null && _runners.GetValueOrDefault(request.Template.Type) is { } runner)
        {
            if (await ClaimedElsewhereAsync(wf, request, killed).ConfigureAwait(false) is { } lost) return lost;
            pod.Report(new PodResult(request.NodeId, NodePhase.Running, null, null, null, time.GetUtcNow(), default));
            return await runner.RunAsync(wf, request, killed).ConfigureAwait(false);
        }
        if (ownership.Shared && claims.ProcessCap is not null && wf.Metadata.Uid is not null)
            return await RunInGlobalSlotAsync(wf, pod, killed).ConfigureAwait(false);
        if (await ClaimedElsewhereAsync(wf, request, killed).ConfigureAwait(false) is { } elsewhere) return elsewhere;
        return await RunPodAsync(wf, pod, killed).ConfigureAwait(false);
    }

    private Task<PodResult> RunPodAsync(Workflow wf, PodLauncher.Pod pod, CancellationToken killed) =>
        pod.Request.Template.ContainerSet is not null ? RunContainerSetAsync(wf, pod, killed) : RunProcessAsync(wf, pod, killed);

    /// <summary>
    /// With a process cap across replicas, a pod runs in a place of that cap, asked for in the same round trip as its
    /// claim; it waits Pending, saying so, until the place is granted, and gives it back when it ends. A service that
    /// stops keeps the place for the step it leaves running (its restart adopts both).
    /// </summary>
    private async Task<PodResult> RunInGlobalSlotAsync(Workflow wf, PodLauncher.Pod pod, CancellationToken killed)
    {
        var (uid, nodeId) = (wf.Metadata.Uid!, pod.Request.NodeId);
        var giveBack = true;
        var held = false;
        try
        {
            if (await _slots.WaitAsync(wf, uid, pod, killed).ConfigureAwait(false) is { } lost)
            {
                giveBack = false; // another replica's claim: not ours to give back
                return lost;
            }
            held = true;
            return await RunPodAsync(wf, pod, killed).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (held && !pod.Killed)
        {
            giveBack = false; // the service stops: the step goes on, and so does its place
            throw;
        }
        finally
        {
            // Given back also when the wait was given up (killed, or stopping): an asker that stopped asking holds up no one.
            if (giveBack)
            {
                try { await claims.ReleaseSlotAsync(uid, nodeId, ownership.ReplicaId, CancellationToken.None).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException) { } // left held: given back at the next takeover of its shard
            }
            if (held) _slots.Released();
        }
    }

    /// <summary>
    /// With several replicas, a step is claimed for this replica before anything of it starts. A step another replica
    /// claimed first may have run there, and its process went with that replica (this one holds the workflow's shard
    /// now, so that replica stopped holding it): the node ends as Error, as Argo ends a node whose pod vanished, and
    /// its retryStrategy decides whether a new attempt runs. Running it again under the same node would run it twice.
    /// </summary>
    private async Task<PodResult?> ClaimedElsewhereAsync(Workflow wf, PodRequest request, CancellationToken killed)
    {
        if (!ownership.Shared || wf.Metadata.Uid is not { } uid) return null;
        var first = await claims.ClaimAsync(uid, request.NodeId, ownership.ReplicaId, killed).ConfigureAwait(false);
        return first == ownership.ReplicaId ? null : LostWith(wf, request.NodeId, first, time);
    }

    /// <summary>The end of a node that <paramref name="replica"/> claimed first: its process went with that replica.</summary>
    public static PodResult LostWith(Workflow wf, string nodeId, string replica, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var started = wf.Status?.Nodes?.GetValueOrDefault(nodeId)?.StartedAt ?? now;
        return new PodResult(nodeId, NodePhase.Error, $"its replica {replica} stopped: the step's process was lost with it", null, null, started, now);
    }

    /// <summary>
    /// A retry runs some steps again under their old node ids: their finished processes are discarded first, or
    /// the executor would adopt the old outcome.
    /// </summary>
    public void Discard(Workflow wf, IEnumerable<string> nodeIds)
    {
        foreach (var id in nodeIds)
        {
            var key = new StepKey(wf.NamespaceOrDefault, wf.Name, id);
            executor.Kill(key);
            executor.Forget(key);
        }
    }

    /// <summary>A container or script step: its process in the sandbox, then its outputs (and, memoized, its cache entry).</summary>
    private async Task<PodResult> RunProcessAsync(Workflow wf, PodLauncher.Pod pod, CancellationToken killed)
    {
        var request = pod.Request;
        var (spec, error) = await specs.BuildAsync(wf, request, time, killed).ConfigureAwait(false);
        if (spec is null)
        {
            var now = time.GetUtcNow();
            return new PodResult(request.NodeId, NodePhase.Error, error, null, null, now, now);
        }
        var (sidecars, sidecarError) = await PodSidecars.PrepareAsync(executor, specs, time, wf, request, spec, killed).ConfigureAwait(false);
        if (sidecarError is not null)
        {
            var now = time.GetUtcNow();
            return new PodResult(request.NodeId, NodePhase.Error, sidecarError, null, null, now, now);
        }
        // A pod of its own network: main, its sidecars and a daemon's exec probes meet on 127.0.0.1.
        if (sidecars is not null || request.Template.Daemon == true) spec = spec with { Pod = spec.Key };
        var daemon = request.Template.Daemon == true ? new DaemonReadiness(executor, specs, time, wf, request, spec.Key, pod.Report) : null;
        // Spawning blocks until the child runs; off the reconcile loop it no longer holds up every other workflow.
        await Task.Yield();
        StepOutcome outcome;
        try
        {
            outcome = await executor.RunAsync(spec, () =>
            {
                pod.MarkStarted();
                Notify(observer.StepStarted, wf, request.NodeId, pod.Key);
                sidecars?.Start(killed);
                daemon?.Start();
            }, killed).ConfigureAwait(false);
        }
        finally
        {
            daemon?.Stop();
        }
        if (sidecars is not null) await sidecars.StopAsync(killed).ConfigureAwait(false);
        var result = await outputs.CollectAsync(wf, request, pod.Key, outcome, killed).ConfigureAwait(false);
        // As in Argo, a daemon is meant to run until its scope stops it: one that ends by itself has failed.
        if (daemon is not null && result.Phase == NodePhase.Succeeded)
            result = result with { Phase = NodePhase.Failed, Message = "daemon step exited before the steps or DAG that started it ended" };
        return request.Template.Memoize is null ? result : await memo.RecordAsync(wf.NamespaceOrDefault, request, result, killed).ConfigureAwait(false);
    }

    /// <summary>
    /// A containerSet pod: the pod counts as started with its first container; each container reports its own
    /// phase and is streamed as a step of its own (logs per container); a kill of the pod stops them all.
    /// </summary>
    private Task<PodResult> RunContainerSetAsync(Workflow wf, PodLauncher.Pod pod, CancellationToken killed)
    {
        var set = new ContainerSetRun(executor, specs, outputs, time, wf, pod.Request,
            podStarted: pod.MarkStarted,
            progress: pod.Report,
            containerStarted: (nodeId, step) => Notify(observer.StepStarted, wf, nodeId, step),
            containerFinished: (nodeId, step) => Notify(observer.StepFinished, wf, nodeId, step));
        pod.Holds(set);
        return set.RunAsync(killed);
    }

    /// <summary>Tells an observer about a step whose node the status has.</summary>
    public static void Notify(Action<Workflow, NodeStatus, StepKey> notify, Workflow wf, string nodeId, StepKey step)
    {
        if (wf.Status?.Nodes?.GetValueOrDefault(nodeId) is { } node) notify(wf, node, step);
    }
}
