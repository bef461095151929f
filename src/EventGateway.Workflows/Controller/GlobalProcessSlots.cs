using EventGateway.Model;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// The wait of a pod for its place under the process cap of all replicas (<see cref="IStepClaims.ProcessCap"/>). The
/// database decides who gets a place and in which order; this asks again when a place of this replica is given
/// back (at once) or another replica's may have been (every <see cref="Poll"/>), and says why the pod is Pending.
/// </summary>
internal sealed class GlobalProcessSlots(IStepClaims claims, IOwnership ownership, TimeProvider time)
{
    /// <summary>How often a waiting pod asks again for a place another replica may have given back.</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    private TaskCompletionSource _given = NewSignal();

    /// <summary>Waits until the pod holds its place (null), or returns its end when another replica claimed it first.</summary>
    /// <exception cref="OperationCanceledException">the pod was killed, or the service is stopping.</exception>
    public async Task<PodResult?> WaitAsync(Workflow wf, string uid, PodLauncher.Pod pod, CancellationToken killed)
    {
        var shard = WorkflowShards.Of(wf.NamespaceOrDefault, wf.Name);
        var waiting = false;
        while (true)
        {
            var given = Volatile.Read(ref _given).Task; // before asking: a place given back meanwhile is not missed
            var answer = await claims.ClaimSlotAsync(uid, pod.Request.NodeId, shard, ownership.ReplicaId, killed).ConfigureAwait(false);
            if (answer.Claimant != ownership.ReplicaId) return StepRunner.LostWith(wf, pod.Request.NodeId, answer.Claimant, time);
            if (answer.Admitted) return null;
            if (!waiting)
            {
                waiting = true;
                var now = time.GetUtcNow();
                pod.Report(new PodResult(pod.Request.NodeId, NodePhase.Pending,
                    $"Waiting for a process slot: all {claims.ProcessCap} of --max-processes are running across replicas", null, null, now, default));
            }
            await Task.WhenAny(given, Task.Delay(Poll, time, killed)).ConfigureAwait(false);
            killed.ThrowIfCancellationRequested();
        }
    }

    /// <summary>A pod of this replica gave its place back: its waiting pods ask again now.</summary>
    public void Released() => Interlocked.Exchange(ref _given, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
