using EventGateway.Model;

namespace EventGateway.Workflows.Controller;

public sealed partial class WorkflowOperator
{
    /// <summary>The daemoned nodes (running and ready daemon steps, and retry nodes over them); made from the status once.</summary>
    private HashSet<string>? _daemons;

    private HashSet<string> Daemons => _daemons ??= [.. Status.Nodes!.Values.Where(n => n.Daemoned == true).Select(n => n.Id)];

    /// <summary>
    /// Done as far as its steps group or DAG is concerned: finished, or a daemon that is running and ready (Argo's
    /// Fulfilled), which its scope leaves running until the scope itself ends.
    /// </summary>
    private static bool Settled(NodeStatus n) => n.Fulfilled || n.Daemoned == true && n.Phase == NodePhase.Running;

    /// <summary>A retry node is daemoned while its current attempt is, so its scope goes on as for the daemon itself.</summary>
    private void MirrorDaemon(NodeStatus retry, NodeStatus attempt)
    {
        if (attempt.Daemoned != true || retry.Daemoned == true) return;
        (retry.Daemoned, retry.PodIP, retry.Phase) = (true, attempt.PodIP, NodePhase.Running);
        Daemons.Add(retry.Id);
    }

    /// <summary>
    /// The steps or DAG node <paramref name="boundaryId"/> ended: the daemons it started are stopped (SIGTERM, then
    /// SIGKILL after the grace period) and Succeeded, as in Argo; they were meant to run exactly this long.
    /// </summary>
    private void StopDaemons(string boundaryId)
    {
        if (Daemons.Count == 0) return;
        foreach (var id in Daemons.ToList())
        {
            if (Status.Nodes!.GetValueOrDefault(id) is not { } n) { Daemons.Remove(id); continue; }
            if (n.BoundaryID != boundaryId) continue;
            Daemons.Remove(id);
            if (n.Daemoned != true || NodePhase.IsFulfilled(n.Phase)) continue;
            (n.Phase, n.Daemoned, n.FinishedAt) = (NodePhase.Succeeded, null, Truncate(_now));
            if (n.Type == NodeType.Pod) _kill.Add(n.Id);
        }
    }
}
