using EventGateway.Model;
using EventGateway.Workflows.Execution;

namespace EventGateway.Workflows.Controller;

public sealed partial class WorkflowController
{
    /// <summary>
    /// A containerSet pod: the pod counts as started with its first container; each container reports its own
    /// phase and is streamed as a step of its own (logs per container); a kill of the pod stops them all.
    /// </summary>
    private Task<PodResult> RunContainerSetAsync(string key, WorkflowRun run, PodRequest pod, PodControl control, CancellationToken killed)
    {
        var wf = run.Operator.Workflow;
        NodeStatus? Node(string nodeId) => wf.Status?.Nodes?.GetValueOrDefault(nodeId);
        var set = new ContainerSetRun(_executor, _specs, _outputs, _time, wf, pod,
            podStarted: () => MarkStarted(key, run, pod, control, killed),
            progress: r => Post(key, run, r),
            containerStarted: (nodeId, step) => { if (Node(nodeId) is { } node) _observers.StepStarted(wf, node, step); },
            containerFinished: (nodeId, step) => { if (Node(nodeId) is { } node) _observers.StepFinished(wf, node, step); });
        lock (run.InFlight) control.Set = set;
        return set.RunAsync(killed);
    }
}
