using EventGateway.Model;

namespace EventGateway.Workflows.Controller;

public sealed partial class WorkflowOperator
{
    /// <summary>
    /// A containerSet is one Pod node (Argo's one pod) with a Container node per container: containers without
    /// dependencies are children of the pod node, the others children of the containers they depend on, as
    /// Argo draws the graph. The controller runs the set as one pod and reports each container's phase.
    /// </summary>
    private void ExecuteContainerSet(NodeStatus node, Template tmpl, VariableScope scope)
    {
        var containers = tmpl.ContainerSet!.Containers;
        if (!_handedOver.Contains(node.Id) && ContainerSetRun.GraphProblem(tmpl.ContainerSet) is { } problem)
        {
            Complete(node, NodePhase.Error, problem);
            _activePods--;
            return;
        }
        foreach (var c in containers)
            if (!_byName.ContainsKey(ContainerSetRun.NodeName(node.Name, c.Name)))
                CreateNode(ContainerSetRun.NodeName(node.Name, c.Name), c.Name ?? "", NodeType.Container, node.Id, tmpl, NodePhase.Pending);
        foreach (var c in containers)
        {
            var child = _byName[ContainerSetRun.NodeName(node.Name, c.Name)];
            if (c.Dependencies is not { Count: > 0 } deps) AddChild(node, child);
            else foreach (var d in deps) AddChild(_byName[ContainerSetRun.NodeName(node.Name, d)], child);
        }
        RequestPod(node, tmpl, scope);
        if (node.Fulfilled) CompleteContainers(node); // it could not be rendered
    }

    /// <summary>A finished pod leaves none of its containers unfinished (a set that failed before they ran).</summary>
    private void CompleteContainers(NodeStatus pod)
    {
        foreach (var c in Descendants(pod))
            if (c.Type == NodeType.Container) Complete(c, pod.Phase, pod.Message);
    }
}
